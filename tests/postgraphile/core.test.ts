// The core of the data graph: roots, by_pk, aggregate counts, relationships, null collapse, output formats and
// one statement per root field.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph();

describe("root fields", () => {
  test("a list returns every row as [T!]!", async () => {
    const data = await graph.data(`{ tenant(order_by: {slug: asc}) { id name slug } }`);
    expect(data.tenant).toEqual([
      { id: ids.tenant.alpha, name: "Alpha", slug: "alpha" },
      { id: ids.tenant.beta, name: "Beta", slug: "beta" },
    ]);
  });

  test("_by_pk finds the row, and is null for a missing id", async () => {
    const data = await graph.data(`query($id: uuid!) { a: flow_by_pk(id: $id) { name version } b: flow_by_pk(id: "${ids.missing}") { name } }`, {
      id: ids.flow.etl2,
    });
    expect(data).toEqual({ a: { name: "etl", version: 2 }, b: null });
  });

  test("_by_pk accepts an upper-case uuid", async () => {
    const data = await graph.data(`{ flow_by_pk(id: "${ids.flow.report.toUpperCase()}") { id } }`);
    expect(data).toEqual({ flow_by_pk: { id: ids.flow.report } });
  });

  test("_aggregate counts the filtered rows", async () => {
    const data = await graph.data(`{ all: flow_run_aggregate { aggregate { count } } running: flow_run_aggregate(where: {state: {_eq: "Running"}}) { aggregate { count } } }`);
    expect(data).toEqual({ all: { aggregate: { count: 4 } }, running: { aggregate: { count: 1 } } });
  });

  test("where, order_by, limit and offset combine", async () => {
    const data = await graph.data(`{ flow_run(where: {tenant_id: {_eq: "${ids.tenant.alpha}"}}, order_by: {scheduled_start_time: desc}, limit: 2, offset: 1) { name } }`);
    expect(data.flow_run).toEqual([{ name: "run-b" }, { name: "run-a" }]);
  });

  test("no PostGraphile CRUD, node or connection fields exist", async () => {
    const result = await graph.run(`{ __schema { queryType { fields { name } } mutationType { name } } }`);
    const fields = (result.data as { __schema: { queryType: { fields: { name: string }[] } } }).__schema.queryType.fields.map((f) => f.name);
    expect(fields).not.toContain("node");
    expect(fields).not.toContain("query");
    expect(fields.some((f) => /Connection|allFlow|^flowRuns?$/.test(f))).toBe(false);
    expect((result.data as { __schema: { mutationType: unknown } }).__schema.mutationType).toBeNull();
  });
});

describe("relationships", () => {
  test("object and array relationships use v1's names", async () => {
    const data = await graph.data(`{
      flow_run_by_pk(id: "${ids.flowRun.a}") {
        flow { name project { name tenant { slug } } flow_group { name } }
        agent { name agent_config { name } }
        tenant { slug }
        states(order_by: {version: asc}) { state }
        logs(order_by: {timestamp: asc}) { message }
        task_runs(where: {task: {slug: {_eq: "t1"}}}) { map_index task { slug } }
      }
    }`);
    expect(data.flow_run_by_pk).toEqual({
      flow: { name: "etl", project: { name: "proj-one", tenant: { slug: "alpha" } }, flow_group: { name: "group-etl" } },
      agent: { name: "agent-1", agent_config: { name: "config-1" } },
      tenant: { slug: "alpha" },
      states: [{ state: "Scheduled" }, { state: "Running" }],
      logs: [{ message: "first" }, { message: "second" }, { message: "third" }],
      task_runs: [{ map_index: -1, task: { slug: "t1" } }],
    });
  });

  test("task edges: downstream_edges start at the task, upstream_edges end at it", async () => {
    const data = await graph.data(`{ task_by_pk(id: "${ids.task.t2}") {
      downstream_edges(order_by: {key: asc}) { key downstream_task { slug } }
      upstream_edges { key upstream_task { slug } }
    } }`);
    expect(data.task_by_pk).toEqual({
      downstream_edges: [
        { key: "t2-t3", downstream_task: { slug: "t3" } },
        { key: "t2-t7", downstream_task: { slug: "t7" } },
      ],
      upstream_edges: [{ key: "t1-t2", upstream_task: { slug: "t1" } }],
    });
  });

  test("a null object relationship is null", async () => {
    const data = await graph.data(`{ flow_run_by_pk(id: "${ids.flowRun.b}") { agent { name } } }`);
    expect(data).toEqual({ flow_run_by_pk: { agent: null } });
  });

  test("nested lists take limit and offset per parent row", async () => {
    const data = await graph.data(`{ project(order_by: {name: asc}) { name flows(order_by: {version: desc}, limit: 1) { version } } }`);
    expect(data.project).toEqual([
      { name: "proj-one", flows: [{ version: 2 }] },
      { name: "proj-three", flows: [{ version: 1 }] },
      { name: "proj-two", flows: [{ version: 1 }] },
    ]);
  });

  test("a nested aggregate counts per parent row", async () => {
    const data = await graph.data(`{ project(order_by: {name: asc}) { name flows_aggregate { aggregate { count } } } }`);
    expect(data.project).toEqual([
      { name: "proj-one", flows_aggregate: { aggregate: { count: 2 } } },
      { name: "proj-three", flows_aggregate: { aggregate: { count: 1 } } },
      { name: "proj-two", flows_aggregate: { aggregate: { count: 1 } } },
    ]);
  });
});

describe("null collapse (HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE)", () => {
  test.each([
    ["a literal null operand", `{ flow(where: {name: {_eq: null}}) { id } }`, undefined],
    ["a null variable", `query($n: String) { flow(where: {name: {_eq: $n}}) { id } }`, { n: null }],
    ["an absent variable", `query($n: String) { flow(where: {name: {_eq: $n}}) { id } }`, {}],
    ["a null _ilike", `{ flow(where: {name: {_ilike: null}, archived: {_eq: null}}) { id } }`, undefined],
    ["a null relationship filter", `query($p: uuid) { flow(where: {project: {id: {_eq: $p}}}) { id } }`, { p: null }],
    ["a null _and", `{ flow(where: {_and: null}) { id } }`, undefined],
    ["{}", `{ flow(where: {}) { id } }`, undefined],
    ["{} inside _and", `{ flow(where: {_and: [{}, {}]}) { id } }`, undefined],
  ])("%s matches every row", async (_name, source, variables) => {
    const data = await graph.data(source, variables);
    expect(data.flow).toHaveLength(4);
  });

  test("a null operand beside a real one keeps the real one", async () => {
    const data = await graph.data(`query($id: uuid) { tenant(where: {slug: {_eq: "beta"}, id: {_eq: $id}}) { slug } }`, { id: null });
    expect(data.tenant).toEqual([{ slug: "beta" }]);
  });

  test("a single object where a list is expected (_and, order_by) is accepted", async () => {
    const data = await graph.data(`{ flow(where: {_and: {name: {_eq: "etl"}, project: {id: {_eq: "${ids.project.one}"}}}}, order_by: {version: desc}, limit: 1) { id version } }`);
    expect(data.flow).toEqual([{ id: ids.flow.etl2, version: 2 }]);
  });
});

describe("output formats", () => {
  test("timestamptz is ISO-8601 in UTC with +00:00, trailing fraction zeros dropped", async () => {
    const data = await graph.data(`{ flow_run(order_by: {scheduled_start_time: asc}) { scheduled_start_time } }`);
    expect(data.flow_run).toEqual([
      { scheduled_start_time: "2024-01-01T00:00:00.123456+00:00" },
      { scheduled_start_time: "2024-01-02T00:00:00+00:00" },
      { scheduled_start_time: "2024-01-03T12:30:00.5+00:00" },
      { scheduled_start_time: "2024-01-04T00:00:00+00:00" },
    ]);
  });

  test("interval is Postgres text, jsonb is JSON, uuid is lowercase", async () => {
    const data = await graph.data(`{ task(where: {slug: {_in: ["t1", "t2", "t3"]}}, order_by: {slug: asc}) { id retry_delay tags } }`);
    expect(data.task).toEqual([
      { id: ids.task.t1, retry_delay: "00:05:00", tags: ["odd"] },
      { id: ids.task.t2, retry_delay: "1 day 02:00:00", tags: ["even"] },
      { id: ids.task.t3, retry_delay: null, tags: ["odd"] },
    ]);
  });

  test("jsonb fields take a path", async () => {
    const data = await graph.data(`{ flow_run_by_pk(id: "${ids.flowRun.a}") { parameters whole: parameters(path: "$") x: parameters(path: "x") k: parameters(path: "$.deep.k[1]") none: parameters(path: "nope.no") } }`);
    expect(data.flow_run_by_pk).toEqual({ parameters: { x: 1, deep: { k: [10, 20] } }, whole: { x: 1, deep: { k: [10, 20] } }, x: 1, k: 20, none: null });
  });
});

describe("one SQL statement per root field", () => {
  test("a deeply nested selection with relationships and aggregates is one statement", async () => {
    const result = await graph.run(`{ tenant { projects { flows { flow_group { name } flow_runs(limit: 1) { task_runs { task { slug } states { state } } } flow_runs_aggregate { aggregate { count } } } } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.statements).toHaveLength(1);
  });

  test("a root aggregate with both aggregate and nodes is one statement", async () => {
    const result = await graph.run(`{ flow_aggregate(where: {archived: {_eq: false}}) { aggregate { count } nodes { name project { name } } } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data).toMatchObject({ flow_aggregate: { aggregate: { count: 3 } } });
    expect(result.statements).toHaveLength(1);
  });

  test("three root fields are three statements", async () => {
    const result = await graph.run(`{ tenant { id } flow { id } flow_run_aggregate { aggregate { count } } }`);
    expect(result.statements).toHaveLength(3);
  });
});

describe("order_by key order", () => {
  test("keys of one object apply in the order written (literal)", async () => {
    const a = await graph.data(`{ flow(order_by: {name: asc, version: desc}) { name version } }`);
    expect(a.flow).toEqual([
      { name: "etl", version: 2 },
      { name: "etl", version: 1 },
      { name: "etl", version: 1 },
      { name: "report", version: 1 },
    ]);
    const b = await graph.data(`{ flow(order_by: {version: desc, name: desc}) { name version } }`);
    expect(b.flow).toEqual([
      { name: "etl", version: 2 },
      { name: "report", version: 1 },
      { name: "etl", version: 1 },
      { name: "etl", version: 1 },
    ]);
  });

  test("keys of one object apply in the order written (a list variable given one object)", async () => {
    const source = `query($o: [flow_order_by!]) { flow(order_by: $o) { name version } }`;
    const b = await graph.data(source, { o: { version: "desc", name: "desc" } });
    expect((b.flow as unknown[])[1]).toEqual({ name: "report", version: 1 });
    const a = await graph.data(source, { o: { name: "desc", version: "desc" } });
    expect((a.flow as unknown[])[0]).toEqual({ name: "report", version: 1 });
  });

  test("keys apply in the order written (variable list)", async () => {
    const source = `query($o: [flow_order_by!]) { flow(order_by: $o) { name version } }`;
    const b = await graph.data(source, { o: [{ version: "desc", name: "desc" }] });
    expect((b.flow as unknown[])[1]).toEqual({ name: "report", version: 1 });
  });
});

describe("federation and errors", () => {
  test("_service { sdl } describes the subgraph without the shim", async () => {
    const data = await graph.data(`{ _service { sdl } }`);
    const sdl = (data._service as { sdl: string }).sdl;
    expect(sdl).toContain("type flow_run {");
    expect(sdl).toContain("scalar uuid");
    expect(sdl).not.toContain("_service");
    expect(sdl).not.toMatch(/scalar (UUID|Datetime|JSON|Cursor)\b/);
  });

  test("an invalid uuid is a clear error", async () => {
    const result = await graph.run(`query($id: uuid!) { flow_by_pk(id: $id) { id } }`, { id: "not-a-uuid" });
    expect(result.errors?.[0]?.message).toContain('Could not parse uuid: "not-a-uuid"');
  });

  test("an unknown enum value is a validation error", async () => {
    const result = await graph.run(`{ flow(order_by: {name: up}) { id } }`);
    expect(result.errors?.[0]?.message).toMatch(/Value "up" does not exist in "order_by" enum/);
  });
});
