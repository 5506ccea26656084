// The data graph's bounds on reads: the row cap (services.postgraphile.max_rows) on every list, nested or not, while
// aggregates still count every row; and the statement timeout (statement_timeout_seconds), whose error names it.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

describe("the row cap", () => {
  const graph = useDataGraph({ limits: { statementTimeoutSeconds: 5, maxRows: 2 } });

  test("a root list returns at most max_rows rows, with or without a larger limit", async () => {
    expect(((await graph.data(`{ task_run { id } }`)).task_run as unknown[]).length).toBe(2);
    expect(((await graph.data(`{ task_run(limit: 2147483647) { id } }`)).task_run as unknown[]).length).toBe(2);
    expect(((await graph.data(`query($l: Int) { task_run(limit: $l) { id } }`, { l: 1000 })).task_run as unknown[]).length).toBe(2);
    expect(((await graph.data(`{ task_run(limit: 1) { id } }`)).task_run as unknown[]).length).toBe(1);
  });

  test("a nested list and an aggregate's nodes are capped too; the aggregate's count is not", async () => {
    const { flow_run_by_pk: run } = (await graph.data(
      `query($id: uuid!) { flow_run_by_pk(id: $id) { task_runs { id } task_runs_aggregate { aggregate { count } nodes { id } } } }`,
      { id: ids.flowRun.a },
    )) as { flow_run_by_pk: { task_runs: unknown[]; task_runs_aggregate: { aggregate: { count: number }; nodes: unknown[] } } };
    const total = Number((await graph.db.pool.query("select count(*) from task_run where flow_run_id = $1", [ids.flowRun.a])).rows[0].count);
    expect(total).toBeGreaterThan(2);
    expect(run.task_runs).toHaveLength(2);
    expect(run.task_runs_aggregate.nodes).toHaveLength(2);
    expect(run.task_runs_aggregate.aggregate.count).toBe(total);
  });
});

describe("the statement timeout", () => {
  const graph = useDataGraph({ limits: { statementTimeoutSeconds: 1, maxRows: 10_000 } });
  let locker: pg.Client;

  beforeAll(async () => {
    locker = new pg.Client({ connectionString: graph.db.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end();
  });

  test("a statement running past it is stopped; the error names the setting and no SQL", async () => {
    // A lock held elsewhere keeps the data graph's statement waiting, as a slow statement would run.
    await locker.query("begin");
    await locker.query("lock table flow in access exclusive mode");
    try {
      const result = await graph.run(`{ flow { id } }`);
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0]!.message).toMatch(/^The query ran longer than the data graph allows \(\d+ s; services\.postgraphile\.statement_timeout_seconds\) and was stopped\./);
      expect(result.errors![0]!.extensions).toEqual({ code: "statement-timeout" });
      expect(JSON.stringify(result.errors)).not.toMatch(/canceling statement|"public"|\bfrom\b/i);
    } finally {
      await locker.query("rollback");
    }
    expect(await graph.data(`{ flow(limit: 1) { id } }`)).toEqual({ flow: [expect.objectContaining({ id: expect.any(String) })] });
  });
});
