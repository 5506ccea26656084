// What Core 1.x sends when it registers a flow (docs/v1-compatibility.md, Flows and flow groups): the compressed
// form, the Core version it was built with, the serialized tasks and edge ends, read as v1 read them.
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { ApiError } from "./errors.ts";
import { isObject } from "./inputs.ts";

export const UNABLE_TO_DECOMPRESS = "Unable to decompress serialized flow";
export const EDGES_UNKNOWN_TASKS =
  "Edges could not be registered - some edges reference tasks that do not exist within this flow.";

/** Decodes Core's compressed flow: base64 of a gzip stream of JSON. */
export function decompressFlow(compressed: string): unknown {
  try {
    const text = compressed.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) throw new Error("not base64");
    return JSON.parse(gunzipSync(Buffer.from(text, "base64")).toString("utf8")) as unknown;
  } catch {
    throw new ApiError(UNABLE_TO_DECOMPRESS);
  }
}

/** Compares dotted version strings numerically on their leading major.minor.patch ("0.15.0+12.gabc" → 0.15.0). */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => (/^\s*v?(\d+(?:\.\d+)*)/.exec(version)?.[1] ?? "0").split(".").map(Number);
  const left = parts(a);
  const right = parts(b);
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

export interface TaskRow {
  id: string;
  slug: string;
  name: string | null;
  description: string | null;
  type: string | null;
  max_retries: number;
  retry_delay: string | null;
  trigger: string | null;
  tags: unknown[];
  auto_generated: boolean;
  cache_key: string | null;
}

const RETRY_DELAY_TEXT = /^\s*(?:\d+\s+days?\s*,?\s*)?\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\s*$/;

export function invalid(what: string, value: unknown): ApiError {
  return new ApiError(`Invalid serialized flow: ${what} (got ${JSON.stringify(value) ?? "undefined"}).`);
}

/** A serialized Core task as the row we store. Unknown fields are ignored (they stay in serialized_flow). */
export function taskRow(task: unknown): TaskRow {
  if (!isObject(task)) throw invalid("every task must be an object", task);
  if (typeof task.slug !== "string" || task.slug === "") throw invalid("every task needs a slug", task.slug);
  const text = (key: string): string | null => {
    const value = task[key];
    if (value == null) return null;
    if (typeof value !== "string") throw invalid(`task "${key}" must be a string`, value);
    return value;
  };
  let retryDelay: string | null = null;
  const delay = task.retry_delay;
  if (typeof delay === "number" && Number.isFinite(delay) && delay >= 0) retryDelay = `${delay} seconds`;
  else if (typeof delay === "string" && RETRY_DELAY_TEXT.test(delay)) retryDelay = delay.replace(",", "");
  else if (delay != null) throw invalid('task "retry_delay" must be seconds or HH:MM:SS', delay);
  const maxRetries = task.max_retries ?? 0;
  if (typeof maxRetries !== "number" || !Number.isInteger(maxRetries)) throw invalid('task "max_retries" must be an integer', maxRetries);
  const trigger = isObject(task.trigger) ? task.trigger.fn : task.trigger;
  if (trigger != null && typeof trigger !== "string") throw invalid('task "trigger" must be a function path', trigger);
  const tags = task.tags ?? [];
  if (!Array.isArray(tags)) throw invalid('task "tags" must be a list', tags);
  const id = typeof task.id === "string" && /^[0-9a-f-]{36}$/i.test(task.id) ? task.id.toLowerCase() : randomUUID();
  return {
    id,
    slug: task.slug,
    name: text("name"),
    description: text("description"),
    type: text("type"),
    max_retries: maxRetries,
    retry_delay: retryDelay,
    trigger: trigger ?? null,
    tags,
    auto_generated: task.auto_generated === true,
    cache_key: text("cache_key"),
  };
}

export const slugOf = (end: unknown): unknown => (isObject(end) ? end.slug : end);
