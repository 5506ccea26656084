// The agent's poll reads migration 000010's partial index in order: the poll names the scheduled states in its text,
// and the index's condition lists the same states (if the two lists ever differ, the planner cannot use the index and
// the poll reads every run of the tenant again: docs/schema.md, "000009"), and the index holds the poll's whole sort
// key (start time, id), so its first entries are the answer with no sort (docs/schema.md, "000010"). Checked on the
// generic plan, the one a named statement ends up with.
import { describe, expect, test } from "vitest";
import type { Pool, PoolClient } from "../../services/shared/src/database/pool.ts";
import { getRunsInQueue } from "../../services/domain/src/runs.ts";
import { useTestDatabase } from "../helpers/database.ts";

const db = useTestDatabase();

describe("get_runs_in_queue's plan", () => {
  test("the generic plan reads ix_flow_run_tenant_id_state_start_time_id_scheduled in order, straight under its limit", async () => {
    let statement: { text: string; values: unknown[] } | undefined;
    const recorder = {
      query: async (config: { text: string; values: unknown[] }) => {
        statement = config;
        return { rows: [] };
      },
    } as unknown as Pool;
    await getRunsInQueue(recorder, { tenant_id: "00000000-0000-4000-8000-000000000000", labels: ["a"], limit: 25 });
    const client: PoolClient = await db.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SET LOCAL plan_cache_mode = force_generic_plan");
      await client.query("SET LOCAL enable_seqscan = off"); // the test database is nearly empty
      await client.query(`PREPARE poll AS ${statement!.text}`);
      const literal = (value: unknown): string =>
        value === null ? "NULL" : Array.isArray(value) ? `ARRAY[${value.map(literal).join(", ")}]` : client.escapeLiteral(String(value));
      const { rows } = await client.query(`EXPLAIN (FORMAT TEXT) EXECUTE poll(${statement!.values.map(literal).join(", ")})`);
      const lines = rows.map((row) => row["QUERY PLAN"] as string);
      const scan = lines.findIndex((line) => line.includes("Index Scan using ix_flow_run_tenant_id_state_start_time_id_scheduled"));
      expect(scan, lines.join("\n")).toBeGreaterThan(0);
      // the scan's parent node (the nearest line above it that is indented less) is the branch's Limit, not a Sort
      const depth = (line: string) => line.search(/\S/);
      const parent = lines.slice(0, scan).findLast((line) => depth(line.replace("->", "  ")) < depth(lines[scan]!.replace("->", "  ")));
      expect(parent, lines.join("\n")).toMatch(/^\s*(->\s*)?Limit/);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
