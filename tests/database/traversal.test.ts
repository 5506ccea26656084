// utility.downstream_tasks / utility.upstream_tasks (docs/schema.md; acceptance check 62).
//
// Fixture DAG (edges point downstream), built so that longest paths give check 62's depths from t1:
//
//   t6 → t1 → t2 → t3 → t4 → t5            t3 → t5 (shortcut: t5 is still at depth 5)
//                  t2 → t7 → t8 → t9 → t5   t7 → t9 (shortcut: t9 is still at depth 4)
//                                 t9 → t10
//   t11 (no edges)
//
// Task ids are chosen so that, within a depth, the id order is the order check 62 lists them in.
import { beforeAll, describe, expect, test } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { insertEdge, insertFlow } from "./fixtures.ts";

const db = useTestDatabase();

const ORDER = ["t1", "t2", "t3", "t7", "t4", "t8", "t9", "t10", "t5", "t6", "t11"];
const ids = Object.fromEntries(
  ORDER.map((name, index) => [name, `00000000-0000-4000-8000-${String(index + 1).padStart(12, "0")}`]),
);
const names = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
const EDGES: [string, string][] = [
  ["t6", "t1"],
  ["t1", "t2"],
  ["t2", "t3"],
  ["t3", "t4"],
  ["t4", "t5"],
  ["t3", "t5"],
  ["t2", "t7"],
  ["t7", "t8"],
  ["t8", "t9"],
  ["t7", "t9"],
  ["t9", "t5"],
  ["t9", "t10"],
];

let tenantId: string;

beforeAll(async () => {
  const flow = await insertFlow(db.pool, {
    tasks: ORDER.map((name) => ({ id: ids[name], slug: name })),
    edges: EDGES.map(([upstream, downstream]) => [ids[upstream]!, ids[downstream]!]),
  });
  tenantId = flow.tenantId;
});

type Direction = "downstream" | "upstream";

/** Rows in the order the function returns them, as "name:depth". */
async function traverse(direction: Direction, start: string[], depthLimit?: number): Promise<string[]> {
  const { rows } = await db.pool.query<{ task_id: string; tenant_id: string; depth: number }>(
    depthLimit === undefined
      ? `select * from utility.${direction}_tasks($1::uuid[])`
      : `select * from utility.${direction}_tasks($1::uuid[], $2)`,
    depthLimit === undefined ? [start.map((name) => ids[name])] : [start.map((name) => ids[name]), depthLimit],
  );
  return rows.map((row) => `${names[row.task_id] ?? row.task_id}:${row.depth}`);
}

describe("downstream_tasks", () => {
  test("check 62: longest-path depths from t1, ordered by depth then task id", async () => {
    expect(await traverse("downstream", ["t1"])).toEqual([
      "t1:0",
      "t2:1",
      "t3:2",
      "t7:2",
      "t4:3",
      "t8:3",
      "t9:4",
      "t10:5",
      "t5:5",
    ]);
  });

  test("check 62: depth_limit 2 returns the first four", async () => {
    expect(await traverse("downstream", ["t1"], 2)).toEqual(["t1:0", "t2:1", "t3:2", "t7:2"]);
  });

  test("depth_limit 0 returns only the start tasks", async () => {
    expect(await traverse("downstream", ["t1"], 0)).toEqual(["t1:0"]);
  });

  test("rows carry the tenant and the row type's columns", async () => {
    const { rows } = await db.pool.query("select * from utility.downstream_tasks($1::uuid[], 1)", [[ids.t1]]);
    expect(rows).toEqual([
      { tenant_id: tenantId, task_id: ids.t1, depth: 0 },
      { tenant_id: tenantId, task_id: ids.t2, depth: 1 },
    ]);
  });

  test("multiple start tasks", async () => {
    expect(await traverse("downstream", ["t3", "t7"])).toEqual([
      "t3:0",
      "t7:0",
      "t4:1",
      "t8:1",
      "t9:2",
      "t10:3",
      "t5:3",
    ]);
  });

  test("a start task reachable from another start task is reported once, at its longest distance", async () => {
    expect(await traverse("downstream", ["t1", "t2"])).toEqual(await traverse("downstream", ["t1"]));
  });

  test("an isolated task, an unknown id and no start tasks", async () => {
    expect(await traverse("downstream", ["t11"])).toEqual(["t11:0"]);
    const { rows } = await db.pool.query("select * from utility.downstream_tasks($1::uuid[])", [
      ["00000000-0000-4000-8000-999999999999"],
    ]);
    expect(rows).toEqual([]);
    expect(await traverse("downstream", [])).toEqual([]);
  });
});

describe("upstream_tasks", () => {
  test("longest-path depths from t5", async () => {
    expect(await traverse("upstream", ["t5"])).toEqual([
      "t5:0",
      "t4:1",
      "t9:1",
      "t3:2",
      "t8:2",
      "t7:3",
      "t2:4",
      "t1:5",
      "t6:6",
    ]);
  });

  test("depth_limit: depths are the longest paths within the limit", async () => {
    // t3 is 2 steps up via t4 but 1 step via its direct edge to t5; only the latter is within the limit
    expect(await traverse("upstream", ["t5"], 1)).toEqual(["t5:0", "t3:1", "t4:1", "t9:1"]);
  });

  test("multiple start tasks: a start task found further up is reported at its longest distance", async () => {
    // t2 is a start task (depth 0) and also upstream of t8 via t7 (depth 2): it is reported once, at 2
    expect(await traverse("upstream", ["t2", "t8"])).toEqual(["t8:0", "t7:1", "t2:2", "t1:3", "t6:4"]);
  });

  test("an isolated task", async () => {
    expect(await traverse("upstream", ["t11"])).toEqual(["t11:0"]);
  });
});

describe("limits and v1 quirks", () => {
  test("depth is capped at 50 whatever depth_limit says", async () => {
    const chain = await insertFlow(db.pool, { tasks: Array.from({ length: 60 }, () => ({})) });
    for (let index = 1; index < chain.taskIds.length; index++) {
      await insertEdge(db.pool, {
        tenantId: chain.tenantId,
        flowId: chain.flowId,
        upstream: chain.taskIds[index - 1]!,
        downstream: chain.taskIds[index]!,
      });
    }
    const { rows } = await db.pool.query(
      "select count(*)::int as n, max(depth) as deepest from utility.downstream_tasks($1::uuid[], 100)",
      [[chain.taskIds[0]]],
    );
    expect(rows[0]).toEqual({ n: 51, deepest: 50 });
  });

  test("edges without a tenant report their tasks again under a NULL tenant (v1's duplicate rows, §9.13)", async () => {
    const flow = await insertFlow(db.pool, { tasks: [{}, {}] });
    const [a, b] = flow.taskIds as [string, string];
    await insertEdge(db.pool, { tenantId: null, flowId: flow.flowId, upstream: a, downstream: b });
    const { rows } = await db.pool.query("select * from utility.downstream_tasks($1::uuid[])", [[a, b]]);
    expect(rows).toHaveLength(3);
    expect(rows).toContainEqual({ tenant_id: flow.tenantId, task_id: a, depth: 0 });
    expect(rows).toContainEqual({ tenant_id: flow.tenantId, task_id: b, depth: 0 });
    expect(rows).toContainEqual({ tenant_id: null, task_id: b, depth: 1 });
  });
});
