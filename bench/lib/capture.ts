// The SQL a service function sends, captured by handing it a stand-in for its pool: the bench runs the services'
// own statements through pgbench without copying them (they stay private to their modules).
interface CapturedQuery {
  text: string;
  values: unknown[];
}

/** Calls `call` with a fake pool that answers every query with no rows; returns the first query it sent. */
export async function captureQuery(call: (db: never) => Promise<unknown>): Promise<CapturedQuery> {
  let captured: CapturedQuery | undefined;
  const fake = {
    query(config: string | { text: string; values?: unknown[] }, values?: unknown[]) {
      const query = typeof config === "string" ? { text: config, values: values ?? [] } : { text: config.text, values: config.values ?? [] };
      captured ??= query;
      return Promise.resolve({ rows: [], rowCount: 0 });
    },
  };
  await call(fake as never);
  if (!captured) throw new Error("the function sent no query");
  return captured;
}

/** SQL text of a value as a literal (strings, numbers, arrays of strings as text[] literals, null). */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return sqlLiteral(`{${value.map((item) => `"${String(item).replaceAll('"', '\\"')}"`).join(",")}}`);
  return `'${String(value).replaceAll("'", "''")}'`;
}

/** The captured statement with its `$n` parameters replaced by SQL text (`replace(n)`), for a pgbench script. */
export function inlineParameters(query: CapturedQuery, replace: (index: number, value: unknown) => string): string {
  return query.text.replace(/\$(\d+)/g, (_match, digits: string) => replace(Number(digits), query.values[Number(digits) - 1]));
}
