// Concurrency limits, beyond v1 (Prefect Cloud's; docs/concurrency.md). Per tenant, a limit on the task runs of a tag
// that may be running at once (task_tag_limit; the UI calls it task_concurrency_limit, with `name` for `tag`) and on
// the flow runs of a label (flow_concurrency_limit). A limit of 0 lets none run. The checks themselves live where the
// runs start: the state statements (states.ts) and the agent poll (runs.ts); this module keeps the limits and
// reports their usage.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError, fromDatabaseError } from "./errors.ts";
import { characterLength, normaliseUuid } from "./inputs.ts";
// a task run or flow run in a running state holds a slot of its tags' or labels' limits
import { RUNNING_STATES } from "./state_classes.ts";

type Queryable = Pool | PoolClient;

/**
 * How long a flow run that get_runs_in_queue handed to an agent holds a slot of its labels' limits before the agent
 * submits it (its Submitted state holds the slot from then on). An agent submits what it was handed at once; a run
 * it never submits (the agent died) frees the slot after this.
 */
export const CLAIM_SECONDS = 30;

/** Largest limit accepted: a Postgres integer. */
const MAX_LIMIT = 2_147_483_647;
/** Longest tag or label accepted, in characters. */
const MAX_NAME_LENGTH = 255;

export const NEGATIVE_LIMIT = "Concurrency limits must be >= 0";
export const INVALID_LIMIT_ID = "Invalid limit ID.";

export interface TagUsage {
  tag: string;
  usage: number;
}

export interface LabelUsage {
  label: string;
  usage: number;
}

export interface LimitRow {
  id: string;
  tenant_id: string;
  tenant_slug: string;
  kind: "task-tag" | "flow-label";
  name: string;
  limit: number;
  usage: number;
}

function checkLimit(limit: unknown): number {
  if (typeof limit !== "number" || !Number.isInteger(limit)) throw new ApiError("A concurrency limit must be a whole number.");
  if (limit < 0) throw new ApiError(NEGATIVE_LIMIT);
  if (limit > MAX_LIMIT) throw new ApiError(`A concurrency limit may be at most ${MAX_LIMIT}.`);
  return limit;
}

function checkName(what: "tag" | "label", name: unknown): string {
  if (typeof name !== "string" || name.length === 0) throw new ApiError(`A concurrency limit needs a ${what}.`);
  if (characterLength(name) > MAX_NAME_LENGTH) throw new ApiError(`The ${what} is longer than ${MAX_NAME_LENGTH} characters.`);
  return name;
}

/**
 * The tenant a limit belongs to: the one given, or the server's only tenant. Prefect Core sends no tenant with its
 * tag-limit calls (Cloud knew it from the API key); a server with several tenants needs it said.
 */
export async function limitTenant(db: Queryable, tenantId: string | null | undefined): Promise<string> {
  if (tenantId != null) {
    const id = normaliseUuid(tenantId);
    const { rows } = id ? await db.query<{ id: string }>("SELECT id FROM tenant WHERE id = $1", [id]) : { rows: [] };
    if (rows.length === 0) throw new ApiError(`Invalid tenant ID: ${tenantId}.`);
    return rows[0]!.id;
  }
  const { rows } = await db.query<{ id: string }>("SELECT id FROM tenant ORDER BY created LIMIT 2");
  if (rows.length === 0) throw new ApiError("This server has no tenant yet: create one first (prefect-server create-tenant).");
  if (rows.length > 1) throw new ApiError("This server has several tenants: say which one the limit is for (tenant_id).");
  return rows[0]!.id;
}

async function upsert(db: Queryable, table: "task_tag_limit" | "flow_concurrency_limit", column: "tag" | "name", tenantId: string, name: string, limit: number) {
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO ${table} (tenant_id, ${column}, "limit") VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, ${column}) DO UPDATE SET "limit" = EXCLUDED."limit" RETURNING id`,
      [tenantId, name, limit],
    );
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

async function remove(db: Queryable, table: "task_tag_limit" | "flow_concurrency_limit", limitId: unknown): Promise<boolean> {
  const id = normaliseUuid(limitId);
  if (!id) throw new ApiError(INVALID_LIMIT_ID);
  const { rowCount } = await db.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
  return rowCount === 1;
}

/** update_task_tag_limit / update_task_concurrency_limit: sets the tag's limit (creates it when missing); its id. */
export async function setTaskTagLimit(db: Queryable, input: { tenant_id?: string | null; tag: unknown; limit: unknown }): Promise<string> {
  const tag = checkName("tag", input.tag);
  const limit = checkLimit(input.limit);
  return upsert(db, "task_tag_limit", "tag", await limitTenant(db, input.tenant_id), tag, limit);
}

/** delete_task_tag_limit / delete_task_concurrency_limit: false when there was no such limit. */
export const deleteTaskTagLimit = (db: Queryable, limitId: unknown) => remove(db, "task_tag_limit", limitId);

/** update_flow_concurrency_limit: sets the label's limit (creates it when missing); its id. */
export async function setFlowLabelLimit(db: Queryable, input: { tenant_id?: string | null; label: unknown; limit: unknown }): Promise<string> {
  const label = checkName("label", input.label);
  const limit = checkLimit(input.limit);
  return upsert(db, "flow_concurrency_limit", "name", await limitTenant(db, input.tenant_id), label, limit);
}

/** delete_flow_concurrency_limit: false when there was no such limit. */
export const deleteFlowLabelLimit = (db: Queryable, limitId: unknown) => remove(db, "flow_concurrency_limit", limitId);

/** Removes the limit of a tag (`kind` task-tag) or label (flow-label) of a tenant; false when there was none. */
export async function deleteLimitByName(db: Queryable, kind: "task-tag" | "flow-label", tenantId: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query(
    kind === "task-tag" ? "DELETE FROM task_tag_limit WHERE tenant_id = $1 AND tag = $2" : "DELETE FROM flow_concurrency_limit WHERE tenant_id = $1 AND name = $2",
    [tenantId, name],
  );
  return rowCount === 1;
}

/** The id of the tenant with this slug or id, for operators who name tenants by slug. */
export async function tenantBySlugOrId(db: Queryable, slugOrId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>("SELECT id FROM tenant WHERE slug = $1 OR id::text = lower($1)", [slugOrId]);
  if (rows.length === 0) throw new ApiError(`No tenant has the slug or id ${JSON.stringify(slugOrId)}.`);
  return rows[0]!.id;
}

/**
 * SQL: the usage of a tag or label (the runs of tenant `tenant` carrying it in one of the running states `states`),
 * as an int; the one definition the usage queries and `concurrency list` share.
 */
const taskTagUsageSql = (tenant: string, tag: string, states: string) => `(SELECT count(*) FROM task_run tr JOIN task t ON t.id = tr.task_id
   WHERE tr.state = ANY(${states}::text[]) AND tr.tenant_id = ${tenant} AND t.tags ? ${tag})::int`;
const flowLabelUsageSql = (tenant: string, label: string, states: string) => `(SELECT count(*) FROM flow_run fr
   WHERE fr.state = ANY(${states}::text[]) AND fr.tenant_id = ${tenant} AND fr.labels ? ${label})::int`;

/** task_concurrency(names): for each tag, the task runs of the tenant with it that are running now. */
export async function taskTagUsage(db: Queryable, input: { tenant_id?: string | null; tags: readonly string[] | null | undefined }): Promise<TagUsage[]> {
  const tags = [...new Set(input.tags ?? [])];
  if (tags.length === 0) return [];
  const tenantId = await limitTenant(db, input.tenant_id);
  const { rows } = await db.query<{ tag: string; usage: number }>({
    name: "concurrency.task_tag_usage",
    text: `SELECT tag, ${taskTagUsageSql("$1", "tag", "$3")} AS usage FROM unnest($2::text[]) AS tag`,
    values: [tenantId, tags, RUNNING_STATES],
  });
  return rows;
}

/** flow_concurrency(labels): for each label, the flow runs of the tenant with it that are running now. */
export async function flowLabelUsage(db: Queryable, input: { tenant_id?: string | null; labels: readonly string[] | null | undefined }): Promise<LabelUsage[]> {
  const labels = [...new Set(input.labels ?? [])];
  if (labels.length === 0) return [];
  const tenantId = await limitTenant(db, input.tenant_id);
  const { rows } = await db.query<{ label: string; usage: number }>({
    name: "concurrency.flow_label_usage",
    text: `SELECT label, ${flowLabelUsageSql("$1", "label", "$3")} AS usage FROM unnest($2::text[]) AS label`,
    values: [tenantId, labels, RUNNING_STATES],
  });
  return rows;
}

/** Every limit of every tenant (or of one), with its usage now: what `prefect-server concurrency list` shows. */
export async function listLimits(db: Queryable, tenantId?: string | null): Promise<LimitRow[]> {
  const { rows } = await db.query<LimitRow>(
    `SELECT l.id, l.tenant_id, tn.slug AS tenant_slug, 'task-tag' AS kind, l.tag AS name, l."limit",
            ${taskTagUsageSql("l.tenant_id", "l.tag", "$2")} AS usage
     FROM task_tag_limit l JOIN tenant tn ON tn.id = l.tenant_id WHERE $1::uuid IS NULL OR l.tenant_id = $1
     UNION ALL
     SELECT l.id, l.tenant_id, tn.slug, 'flow-label', l.name, l."limit", ${flowLabelUsageSql("l.tenant_id", "l.name", "$2")}
     FROM flow_concurrency_limit l JOIN tenant tn ON tn.id = l.tenant_id WHERE $1::uuid IS NULL OR l.tenant_id = $1
     ORDER BY tenant_slug, kind DESC, name`,
    [tenantId ?? null, RUNNING_STATES],
  );
  return rows;
}

/** The answer's message for a run that asked to start while its tag's or label's limit is used up. */
export function queuedMessage(kind: "tag" | "label", name: string, limit: number): string {
  return `Queued: the concurrency limit of ${kind} ${JSON.stringify(name)} (${limit}) is reached; the run will start when a slot frees.`;
}
