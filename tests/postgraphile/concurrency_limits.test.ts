// The concurrency limits in the data graph (beyond v1; docs/concurrency.md): Prefect Core's read
// (`task_tag_limit(where: {tag: {_eq}}) { limit }`), the UI's (`task_concurrency_limit { id name limit }`, a view of
// the same rows, and `flow_concurrency_limit { id name limit }`), in Hasura's shape; read-only even with table
// mutations on (the service's update_/delete_ mutations write them, with their checks).
import { beforeAll, describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph({ enableTableMutations: true });

beforeAll(async () => {
  await graph.db.pool.query(
    `INSERT INTO task_tag_limit (id, tenant_id, tag, "limit") VALUES ('11111111-0000-4000-8000-000000000001', $1, 'db', 3), ('11111111-0000-4000-8000-000000000002', $1, 's3', 0)`,
    [ids.tenant.alpha],
  );
  await graph.db.pool.query(`INSERT INTO flow_concurrency_limit (id, tenant_id, name, "limit") VALUES ('22222222-0000-4000-8000-000000000001', $1, 'gpu', 2)`, [
    ids.tenant.alpha,
  ]);
});

describe("concurrency limits in the data graph", () => {
  test("Core's get_task_tag_limit query", async () => {
    expect(await graph.data(`query { task_tag_limit(where: {tag: {_eq: "db"}}) { limit } }`)).toEqual({ task_tag_limit: [{ limit: 3 }] });
    expect(await graph.data(`query { task_tag_limit(where: {tag: {_eq: "none"}}) { limit } }`)).toEqual({ task_tag_limit: [] });
  });

  test("the UI's pages: task_concurrency_limit (the same rows, name for tag) and flow_concurrency_limit", async () => {
    expect(await graph.data(`{ task_concurrency_limit(order_by: {name: asc}) { id name limit } }`)).toEqual({
      task_concurrency_limit: [
        { id: "11111111-0000-4000-8000-000000000001", name: "db", limit: 3 },
        { id: "11111111-0000-4000-8000-000000000002", name: "s3", limit: 0 },
      ],
    });
    expect(await graph.data(`{ flow_concurrency_limit { id name limit } flow_concurrency_limit_aggregate { aggregate { count } } }`)).toEqual({
      flow_concurrency_limit: [{ id: "22222222-0000-4000-8000-000000000001", name: "gpu", limit: 2 }],
      flow_concurrency_limit_aggregate: { aggregate: { count: 1 } },
    });
    expect(await graph.data(`{ task_tag_limit_by_pk(id: "11111111-0000-4000-8000-000000000002") { tag limit } }`)).toEqual({
      task_tag_limit_by_pk: { tag: "s3", limit: 0 },
    });
  });

  test("read-only: no table mutations for the limits, while other tables have theirs", async () => {
    const result = await graph.run(`{ __schema { mutationType { fields { name } } } }`);
    const fields = (result.data as { __schema: { mutationType: { fields: { name: string }[] } } }).__schema.mutationType.fields.map((f) => f.name);
    expect(fields).toContain("insert_flow_run");
    expect(fields.filter((name) => /task_tag_limit|concurrency_limit/.test(name))).toEqual([]);
  });
});
