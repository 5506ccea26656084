// The traversal function roots (acceptance check 62; docs/v1-compatibility.md) and their `task` relationship.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph();
const slugOf = Object.fromEntries(Object.entries(ids.task).map(([slug, id]) => [id, slug]));
const walk = (rows: unknown) => (rows as { task_id: string; depth: number }[]).map((r) => `${slugOf[r.task_id]}:${r.depth}`);

describe("utility_downstream_tasks / utility_upstream_tasks", () => {
  test("downstream from t1 reports every task once at its longest distance (check 62)", async () => {
    const data = await graph.data(`query($ids: _uuid) { utility_downstream_tasks(args: {start_task_ids: $ids}) { task_id depth } }`, {
      ids: `{${ids.task.t1}}`,
    });
    expect(walk(data.utility_downstream_tasks)).toEqual(["t1:0", "t2:1", "t3:2", "t7:2", "t4:3", "t8:3", "t9:4", "t10:5", "t5:5"].sort(byDepthThenId));
  });

  test("depth_limit 2 keeps the first four", async () => {
    const data = await graph.data(`{ utility_downstream_tasks(args: {start_task_ids: "{${ids.task.t1}}", depth_limit: 2}) { task_id depth } }`);
    expect(walk(data.utility_downstream_tasks).sort()).toEqual(["t1:0", "t2:1", "t3:2", "t7:2"]);
  });

  test("upstream, with where/order_by, the task relationship and the aggregate", async () => {
    const data = await graph.data(`{
      utility_upstream_tasks(args: {start_task_ids: "{ ${ids.task.t9} , ${ids.task.t6} }"}, where: {depth: {_gt: 0}}, order_by: {task: {slug: desc}}) { depth task { slug } }
      utility_upstream_tasks_aggregate(args: {start_task_ids: "{${ids.task.t9}}"}) { aggregate { count max { depth } } }
    }`);
    expect(data.utility_upstream_tasks).toEqual([
      { depth: 1, task: { slug: "t8" } },
      { depth: 2, task: { slug: "t7" } },
      { depth: 1, task: { slug: "t4" } },
      { depth: 2, task: { slug: "t3" } },
      { depth: 3, task: { slug: "t2" } },
      { depth: 4, task: { slug: "t1" } },
    ]);
    expect(data.utility_upstream_tasks_aggregate).toEqual({ aggregate: { count: 7, max: { depth: 4 } } });
  });

  test("a null or missing start_task_ids answers no rows (the function's answer for a NULL array), not an error", async () => {
    for (const fn of ["utility_downstream_tasks", "utility_upstream_tasks"]) {
      for (const args of ["{start_task_ids: null}", "{}", "{depth_limit: 3}", "{start_task_ids: $ids}"]) {
        const header = args.includes("$ids") ? "query($ids: _uuid)" : "query";
        const { data, errors } = await graph.run(
          `${header} { ${fn}(args: ${args}) { task_id depth } ${fn}_aggregate(args: ${args}) { aggregate { count } } }`,
          { ids: null },
        );
        expect({ fn, args, data, errors }).toEqual({ fn, args, data: { [fn]: [], [`${fn}_aggregate`]: { aggregate: { count: 0 } } }, errors: undefined });
      }
    }
  });

  test("a malformed _uuid literal is a clear error", async () => {
    const result = await graph.run(`{ utility_downstream_tasks(args: {start_task_ids: "nope"}) { depth } }`);
    expect(result.errors?.[0]?.message).toMatch(/Could not parse _uuid: "nope" \(expected UUIDs written as a Postgres array/);
  });
});

function byDepthThenId(a: string, b: string): number {
  const [sa, da] = a.split(":") as [string, string];
  const [sb, db] = b.split(":") as [string, string];
  return Number(da) - Number(db) || ids.task[sa]!.localeCompare(ids.task[sb]!);
}
