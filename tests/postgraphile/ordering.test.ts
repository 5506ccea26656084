// `order_by`, `distinct_on`, `limit` and `offset`, table-driven over the seeded database (seed.ts): every order_by
// value with its nulls placement, ordering through object relationships and by array-relationship aggregates,
// multi-key objects (key order significant), distinct_on in all the forms clients send, at the root and nested.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids, labelOf } from "./seed.ts";

const graph = useDataGraph();

/** The labels (seed.ts `labelOf`) of the `table` rows for the field arguments `args`, in the order returned. */
async function ordered(table: string, args: string, variables?: Record<string, unknown>, declarations = ""): Promise<string[]> {
  const data = await graph.data(`query${declarations ? `(${declarations})` : ""} { rows: ${table}(${args}) { id } }`, variables);
  return (data.rows as Array<{ id: string }>).map((row) => labelOf.get(row.id) ?? row.id);
}

// Seeded values (seed.ts), rows in primary-key order (the tie-breaker after any order_by):
//   flow_run  a          b          c          d
//   name      run-a      run-b      null       run-d
//   state     Running    Success    Scheduled  Failed
//   version   3          5          1          2
//   flow      etl2 (etl, v2, proj-one)  etl2  report (proj-two)  betaEtl (etl, v1, proj-three)
//   agent     agent-1    null       null       null
//   scheduled 01-01      01-02      01-03      01-04
//   flows: etl1 (0 runs), etl2 (a, b), report (c), betaEtl (d)
describe("order_by values and nulls", () => {
  test.each([
    ["asc (= asc_nulls_last)", "asc", ["a", "b", "d", "c"]],
    ["asc_nulls_last", "asc_nulls_last", ["a", "b", "d", "c"]],
    ["asc_nulls_first", "asc_nulls_first", ["c", "a", "b", "d"]],
    ["desc (= desc_nulls_first)", "desc", ["c", "d", "b", "a"]],
    ["desc_nulls_first", "desc_nulls_first", ["c", "d", "b", "a"]],
    ["desc_nulls_last", "desc_nulls_last", ["d", "b", "a", "c"]],
  ])("%s", async (_name, value, expected) => {
    expect(await ordered("flow_run", `order_by: {name: ${value}}`)).toEqual(expected);
    expect(await ordered("flow_run", `order_by: $o`, { o: [{ name: value }] }, "$o: [flow_run_order_by!]")).toEqual(expected);
  });

  test.each([
    ["timestamptz", `{scheduled_start_time: desc}`, ["d", "c", "b", "a"]],
    ["timestamptz with nulls", `{start_time: desc_nulls_last}`, ["b", "a", "c", "d"]],
    ["Int", `{version: asc}`, ["c", "d", "a", "b"]],
    ["String", `{state: asc}`, ["d", "a", "c", "b"]],
    ["uuid", `{id: desc}`, ["d", "c", "b", "a"]],
    ["jsonb", `{parameters: desc}`, ["a", "b", "c", "d"]],
    ["Boolean, then a second key", `{auto_scheduled: asc, version: desc}`, ["b", "a", "d", "c"]],
  ])("by a %s column", async (_name, orderBy, expected) => {
    expect(await ordered("flow_run", `order_by: ${orderBy}`)).toEqual(expected);
  });

  test("interval orders as a duration (00:05:00 < 1 day 02:00:00)", async () => {
    const data = await graph.data(`{ task(order_by: {retry_delay: desc_nulls_last}, limit: 3) { name retry_delay } }`);
    expect(data.task).toEqual([
      { name: "t2", retry_delay: "1 day 02:00:00" },
      { name: "t1", retry_delay: "00:05:00" },
      { name: "t3", retry_delay: null },
    ]);
  });
});

describe("order_by through relationships", () => {
  test.each([
    ["an object relationship", "flow_run", `{flow: {name: desc}, version: asc}`, ["c", "d", "a", "b"]],
    ["two object relationships deep", "flow_run", `{flow: {project: {name: asc}}}`, ["a", "b", "d", "c"]],
    ["a nullable object relationship, asc (nulls last)", "flow_run", `{agent: {name: asc}}`, ["a", "b", "c", "d"]],
    ["a nullable object relationship, desc (nulls first)", "flow_run", `{agent: {name: desc}}`, ["b", "c", "d", "a"]],
    ["the UI's list form", "flow_run", `[{scheduled_start_time: asc}, {flow: {name: asc}}]`, ["a", "b", "c", "d"]],
    ["an array aggregate: count desc", "flow", `{flow_runs_aggregate: {count: desc}}`, ["etl2", "report", "betaEtl", "etl1"]],
    ["an array aggregate: count asc", "flow", `{flow_runs_aggregate: {count: asc}}`, ["etl1", "report", "betaEtl", "etl2"]],
    ["an array aggregate: max asc (no rows = null, last)", "flow", `{flow_runs_aggregate: {max: {scheduled_start_time: asc}}}`, ["etl2", "report", "betaEtl", "etl1"]],
    ["an array aggregate: max desc (null first)", "flow", `{flow_runs_aggregate: {max: {scheduled_start_time: desc}}}`, ["etl1", "betaEtl", "report", "etl2"]],
    ["an array aggregate: min", "flow", `{flow_runs_aggregate: {min: {version: asc}}}`, ["report", "betaEtl", "etl2", "etl1"]],
    ["an array aggregate: sum", "flow", `{flow_runs_aggregate: {sum: {version: desc_nulls_last}}}`, ["etl2", "betaEtl", "report", "etl1"]],
    ["an array aggregate: avg", "flow", `{flow_runs_aggregate: {avg: {version: asc_nulls_first}}}`, ["etl1", "report", "betaEtl", "etl2"]],
    ["an array aggregate: var_samp (null for one row)", "flow", `{flow_runs_aggregate: {var_samp: {version: desc_nulls_last}}, name: desc}`, ["etl2", "report", "etl1", "betaEtl"]],
    ["an array aggregate, then a column", "project", `{flows_aggregate: {count: desc}, name: asc}`, ["one", "three", "two"]],
    ["an array aggregate through an object relationship", "flow_run", `{flow: {tasks_aggregate: {count: desc}}, version: desc}`, ["b", "a", "c", "d"]],
    ["an array aggregate of the parent's parent", "project", `{tenant: {projects_aggregate: {count: asc}}, name: desc}`, ["three", "two", "one"]],
  ])("%s", async (_name, table, orderBy, expected) => {
    expect(await ordered(table, `order_by: ${orderBy}`)).toEqual(expected);
  });

  test("nested lists order per parent row", async () => {
    const data = await graph.data(`{ flow(where: {id: {_eq: "${ids.flow.etl2}"}}) { flow_runs(order_by: {version: desc}) { name } tasks(order_by: {downstream_edges_aggregate: {count: desc}, name: asc}, limit: 3) { name } } }`);
    expect(data.flow).toEqual([{ flow_runs: [{ name: "run-b" }, { name: "run-a" }], tasks: [{ name: "t2" }, { name: "t3" }, { name: "t9" }] }]);
  });
});

describe("order_by key order is significant", () => {
  const first = ["d", "a", "c", "b"]; // state first
  const second = ["c", "d", "a", "b"]; // flow name first
  test.each([
    ["a literal object", `order_by: {state: asc, flow: {name: desc}}`, first, undefined],
    ["a literal object, keys swapped", `order_by: {flow: {name: desc}, state: asc}`, second, undefined],
    ["a literal list", `order_by: [{flow: {name: desc}}, {state: asc}]`, second, undefined],
    ["a literal list of multi-key objects", `order_by: [{flow: {name: desc}, state: asc}, {version: asc}]`, second, undefined],
    ["a variable list", `order_by: $o`, first, { o: [{ state: "asc", flow: { name: "desc" } }] }],
    ["a variable holding one object", `order_by: $o`, second, { o: { flow: { name: "desc" }, state: "asc" } }],
    ["a variable inside a literal list", `order_by: [$o, {version: asc}]`, second, { o: { flow: { name: "desc" } } }],
  ])("%s", async (_name, args, expected, variables) => {
    const declaration = args.includes("[$o") ? "$o: flow_run_order_by!" : "$o: [flow_run_order_by!]";
    expect(await ordered("flow_run", args, variables, variables ? declaration : "")).toEqual(expected);
  });

  test("the UI's {flow_id: asc, scheduled_start_time: desc} keeps its order", async () => {
    expect(await ordered("flow_run", `order_by: {flow_id: asc, scheduled_start_time: desc}`)).toEqual(["b", "a", "c", "d"]);
    expect(await ordered("flow_run", `order_by: {scheduled_start_time: desc, flow_id: asc}`)).toEqual(["d", "c", "b", "a"]);
  });

  test("null order_by values and a null order_by add nothing", async () => {
    expect(await ordered("flow_run", `order_by: {name: null, version: asc}`)).toEqual(["c", "d", "a", "b"]);
    expect(await ordered("flow_run", `order_by: $o`, { o: null }, "$o: [flow_run_order_by!]")).toEqual(["a", "b", "c", "d"]);
    expect(await ordered("flow_run", `order_by: $o`, {}, "$o: [flow_run_order_by!]")).toEqual(["a", "b", "c", "d"]);
  });
});

describe("distinct_on", () => {
  test.each([
    ["a single enum value", "flow", `distinct_on: name, order_by: [{name: asc}, {version: desc}]`, ["etl2", "report"]],
    ["a list, with a multi-key order_by object", "flow", `distinct_on: [name], order_by: {name: asc, version: desc}`, ["etl2", "report"]],
    ["without order_by", "flow", `distinct_on: name, where: {version: {_eq: 2}}`, ["etl2"]],
    ["null", "flow", `distinct_on: null`, ["etl1", "etl2", "report", "betaEtl"]],
    ["two columns, order_by in another order", "flow", `distinct_on: [name, project_id], order_by: [{project_id: asc}, {name: asc}, {version: asc}]`, ["etl1", "report", "betaEtl"]],
    ["with where", "flow", `where: {version: {_eq: 1}}, distinct_on: name, order_by: [{name: asc}, {tenant_id: desc}]`, ["betaEtl", "report"]],
    ["with limit (applied after DISTINCT ON)", "flow", `distinct_on: name, order_by: [{name: desc}, {version: asc}], limit: 1`, ["report"]],
    ["with offset", "flow", `distinct_on: name, order_by: [{name: asc}, {version: desc}], offset: 1`, ["report"]],
    ["the UI's latest run per flow", "flow_run", `distinct_on: flow_id, order_by: {flow_id: asc, scheduled_start_time: desc}`, ["b", "c", "d"]],
    ["ordered by a relationship after the distinct columns", "flow_run", `distinct_on: flow_id, order_by: [{flow_id: asc}, {agent: {name: asc}}]`, ["a", "c", "d"]],
  ])("%s", async (_name, table, args, expected) => {
    expect(await ordered(table, args)).toEqual(expected);
  });

  test("from a variable (single value and list)", async () => {
    const source = "$d: [flow_select_column!], $o: [flow_order_by!]";
    expect(await ordered("flow", `distinct_on: $d, order_by: $o`, { d: "name", o: { name: "asc", version: "desc" } }, source)).toEqual(["etl2", "report"]);
    expect(await ordered("flow", `distinct_on: $d, order_by: $o`, { d: null, o: null }, source)).toHaveLength(4);
  });

  test("nested, per parent row", async () => {
    const data = await graph.data(`{ project(order_by: {name: asc}) { name flows(distinct_on: name, order_by: [{name: asc}, {version: desc}]) { version } } }`);
    expect(data.project).toEqual([
      { name: "proj-one", flows: [{ version: 2 }] },
      { name: "proj-three", flows: [{ version: 1 }] },
      { name: "proj-two", flows: [{ version: 1 }] },
    ]);
  });

  test("aggregates count the distinct rows (Core's `get projects`), root and nested", async () => {
    const data = await graph.data(`{
      flow_aggregate(distinct_on: name) { aggregate { count } }
      project(where: {_and: {name: {_eq: null}}}, order_by: {name: asc}) { name flows_aggregate(distinct_on: name) { aggregate { count } } }
    }`);
    expect(data).toEqual({
      flow_aggregate: { aggregate: { count: 2 } },
      project: [
        { name: "proj-one", flows_aggregate: { aggregate: { count: 1 } } },
        { name: "proj-three", flows_aggregate: { aggregate: { count: 1 } } },
        { name: "proj-two", flows_aggregate: { aggregate: { count: 1 } } },
      ],
    });
  });

  test.each([
    ["order_by on another column", `flow(distinct_on: name, order_by: {version: asc})`],
    ["order_by leading with another column", `flow(distinct_on: name, order_by: [{version: asc}, {name: asc}])`],
    ["fewer order_by columns than distinct ones", `flow(distinct_on: [name, version], order_by: {name: asc})`],
    ["order_by through a relationship", `flow_run(distinct_on: flow_id, order_by: {flow: {id: asc}})`],
    ["nested", `project { flows(distinct_on: name, order_by: {version: asc}) { id } }`],
  ])("a mismatched order_by is an error: %s", async (_name, field) => {
    const source = field.includes("{ flows") ? `{ ${field} }` : `{ ${field} { id } }`;
    const result = await graph.run(source);
    expect(result.errors?.map((e) => e.message)).toEqual(['"distinct_on" columns must match initial "order_by" columns']);
  });
});

describe("limit and offset", () => {
  test.each([
    ["limit", `order_by: {version: asc}, limit: 2`, ["c", "d"]],
    ["limit and offset", `order_by: {version: asc}, limit: 2, offset: 1`, ["d", "a"]],
    ["offset alone", `order_by: {version: asc}, offset: 3`, ["b"]],
    ["limit 0", `limit: 0`, []],
    ["offset past the end", `offset: 10`, []],
    ["null limit and offset", `order_by: {version: asc}, limit: null, offset: null`, ["c", "d", "a", "b"]],
  ])("%s", async (_name, args, expected) => {
    expect(await ordered("flow_run", args)).toEqual(expected);
  });

  test("from variables with defaults (the UI's $limit: Int = 100, $offset: Int = 0)", async () => {
    const source = "$limit: Int = 2, $offset: Int = 0";
    expect(await ordered("flow_run", `order_by: {version: asc}, limit: $limit, offset: $offset`, {}, source)).toEqual(["c", "d"]);
    expect(await ordered("flow_run", `order_by: {version: asc}, limit: $limit, offset: $offset`, { offset: 2 }, source)).toEqual(["a", "b"]);
  });

  test("nested limit and offset apply per parent row", async () => {
    const data = await graph.data(`{ flow(order_by: {created: asc}) { name version flow_runs(order_by: {version: desc}, limit: 1, offset: 1) { name } } }`);
    expect(data.flow).toEqual([
      { name: "etl", version: 1, flow_runs: [] },
      { name: "etl", version: 2, flow_runs: [{ name: "run-a" }] },
      { name: "report", version: 1, flow_runs: [] },
      { name: "etl", version: 1, flow_runs: [] },
    ]);
  });

  test("nested logs with order_by and limit (the UI's log views)", async () => {
    const data = await graph.data(`{ flow_run_by_pk(id: "${ids.flowRun.a}") { logs(order_by: {timestamp: desc}, limit: 2) { message } } }`);
    expect(data.flow_run_by_pk).toEqual({ logs: [{ message: "third" }, { message: "second" }] });
  });

  test.each([`limit: -1`, `offset: -2`])("a negative value is an error (%s)", async (args) => {
    const result = await graph.run(`{ flow_run(${args}) { id } }`);
    expect(result.errors?.[0]?.message).toMatch(/expected a non-negative integer/);
  });
});
