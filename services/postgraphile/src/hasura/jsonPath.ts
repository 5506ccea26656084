// The `path:` argument of jsonb fields (`parameters(path: "$.x.y[0]")`): Hasura's JSON path subset, `$` optional,
// `.key`, `["key"]` / `['key']` and `[index]` steps. A path that leads nowhere yields null.
import { SafeError } from "postgraphile/grafast";

export function parseJsonPath(path: string): Array<string | number> {
  const steps: Array<string | number> = [];
  let rest = path.trim();
  if (rest.startsWith("$")) rest = rest.slice(1);
  else if (rest !== "" && !rest.startsWith(".") && !rest.startsWith("[")) rest = `.${rest}`;
  while (rest.length > 0) {
    const match =
      /^\.([^.[\]]+)/.exec(rest) ?? /^\[(\d+)\]/.exec(rest) ?? /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest) ?? /^\['((?:[^'\\]|\\.)*)'\]/.exec(rest);
    if (!match) throw new SafeError(`parse json path error: unexpected "${rest}" in ${JSON.stringify(path)}`);
    steps.push(match[0].startsWith("[") && /^\d+$/.test(match[1]!) ? Number(match[1]) : match[1]!.replace(/\\(.)/g, "$1"));
    rest = rest.slice(match[0].length);
  }
  return steps;
}

/** The value at `path` inside `value` (null when absent). */
export function extractJsonPath(value: unknown, path: string | null | undefined): unknown {
  if (path == null) return value;
  let current: unknown = value;
  for (const step of parseJsonPath(path)) {
    if (current == null || typeof current !== "object") return null;
    if (typeof step === "number") {
      if (!Array.isArray(current)) return null;
      current = current[step];
    } else {
      if (Array.isArray(current)) return null;
      current = (current as Record<string, unknown>)[step];
    }
    if (current === undefined) return null;
  }
  return current ?? null;
}
