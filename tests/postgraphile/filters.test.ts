// `where`, table-driven over the seeded database (seed.ts): every comparison operator on every scalar type, v1's
// null collapse for every operator (literal null, null variable, absent variable), `{}`, single objects where a
// list is expected, and relationship filters (object, and array = EXISTS). Each case names the rows it must return.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids, labelOf } from "./seed.ts";

const graph = useDataGraph();

/** The labels (seed.ts `labelOf`) of the `table` rows matching `where`, sorted. */
async function matching(table: string, where: string, variables?: Record<string, unknown>, declarations = ""): Promise<string[]> {
  const data = await graph.data(`query${declarations ? `(${declarations})` : ""} { rows: ${table}(where: ${where}) { id } }`, variables);
  return (data.rows as Array<{ id: string }>).map((row) => labelOf.get(row.id) ?? row.id).sort();
}

const { flow } = ids;
const ALL_RUNS = ["a", "b", "c", "d"];
const OTHER_TASKS = ["reportTask", "t10", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];

// Seeded values (seed.ts):
//   flow_run   a        b        c                 d
//   flow_id    etl2     etl2     report            betaEtl       (flow ids ascend: etl1 < etl2 < report < betaEtl)
//   agent_id   agent-1  null     null              null
//   name       run-a    run-b    null              run-d
//   version    3        5        1                 2
//   times_res… 0        2        null              1
//   scheduled  01-01 00:00:00.123456   01-02   01-03 12:30:00.5   01-04 (2024, UTC)
//   start_time 01-01 00:01  01-02 00:01  null     null
//   parameters {"x":1,"deep":{"k":[10,20]}}  {"x":2}  {}  {}
//   labels     ["x"]    []       []                ["y"]
//   flow.archived: etl1 only. task.retry_delay: t1 00:05:00, t2 1 day 02:00:00, the rest null.
//   tenant.info: alpha null, beta {"tier":"gold",…}. log.is_loaded_from_archive: always null.
const OPERATOR_CASES: ReadonlyArray<readonly [string, string, string, string[]]> = [
  // uuid
  ["flow_run", "flow_id", `{_eq: "${flow.etl2}"}`, ["a", "b"]],
  ["flow_run", "flow_id", `{_eq: "${flow.etl2.toUpperCase()}"}`, ["a", "b"]],
  ["flow_run", "flow_id", `{_neq: "${flow.etl2}"}`, ["c", "d"]],
  ["flow_run", "flow_id", `{_gt: "${flow.etl2}"}`, ["c", "d"]],
  ["flow_run", "flow_id", `{_gte: "${flow.report}"}`, ["c", "d"]],
  ["flow_run", "flow_id", `{_lt: "${flow.report}"}`, ["a", "b"]],
  ["flow_run", "flow_id", `{_lte: "${flow.report}"}`, ["a", "b", "c"]],
  ["flow_run", "flow_id", `{_in: ["${flow.etl2}", "${flow.betaEtl}"]}`, ["a", "b", "d"]],
  ["flow_run", "flow_id", `{_nin: ["${flow.etl2}"]}`, ["c", "d"]],
  ["flow_run", "flow_id", `{_nin: []}`, ALL_RUNS],
  ["flow_run", "flow_id", `{_in: []}`, []],
  ["flow_run", "agent_id", `{_is_null: true}`, ["b", "c", "d"]],
  ["flow_run", "agent_id", `{_is_null: false}`, ["a"]],
  ["flow_run", "agent_id", `{_neq: "${ids.agent.one}"}`, []],
  // String (nulls never match a comparison, _neq and _nin included)
  ["flow_run", "name", `{_eq: "run-b"}`, ["b"]],
  ["flow_run", "name", `{_neq: "run-b"}`, ["a", "d"]],
  ["flow_run", "name", `{_gt: "run-b"}`, ["d"]],
  ["flow_run", "name", `{_gte: "run-b"}`, ["b", "d"]],
  ["flow_run", "name", `{_lt: "run-b"}`, ["a"]],
  ["flow_run", "name", `{_lte: "run-b"}`, ["a", "b"]],
  ["flow_run", "name", `{_in: ["run-a", "run-d", "zzz"]}`, ["a", "d"]],
  ["flow_run", "name", `{_nin: ["run-a"]}`, ["b", "d"]],
  ["flow_run", "name", `{_is_null: true}`, ["c"]],
  ["flow_run", "name", `{_is_null: false}`, ["a", "b", "d"]],
  ["task", "name", `{_like: "t1%"}`, ["t1", "t10"]],
  ["task", "name", `{_like: "T1%"}`, []],
  ["task", "name", `{_like: "t_"}`, ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"]],
  ["task", "name", `{_nlike: "t%"}`, ["reportTask"]],
  ["task", "name", `{_ilike: "T1%"}`, ["t1", "t10"]],
  ["task", "name", `{_nilike: "T%"}`, ["reportTask"]],
  ["task", "name", `{_similar: "t(2|3)"}`, ["t2", "t3"]],
  ["task", "name", `{_nsimilar: "t[0-9]+"}`, ["reportTask"]],
  ["task", "name", `{_regex: "^t[2-4]$"}`, ["t2", "t3", "t4"]],
  ["task", "name", `{_regex: "^T[2-4]$"}`, []],
  ["task", "name", `{_nregex: "^t"}`, ["reportTask"]],
  ["task", "name", `{_iregex: "^T(5|6)$"}`, ["t5", "t6"]],
  ["task", "name", `{_niregex: "^T\\\\d"}`, ["reportTask"]],
  // Int
  ["flow_run", "version", `{_eq: 3}`, ["a"]],
  ["flow_run", "version", `{_neq: 3}`, ["b", "c", "d"]],
  ["flow_run", "version", `{_gt: 2}`, ["a", "b"]],
  ["flow_run", "version", `{_gte: 2}`, ["a", "b", "d"]],
  ["flow_run", "version", `{_lt: 3}`, ["c", "d"]],
  ["flow_run", "version", `{_lte: 3}`, ["a", "c", "d"]],
  ["flow_run", "version", `{_in: [1, 5]}`, ["b", "c"]],
  ["flow_run", "version", `{_nin: [1, 5]}`, ["a", "d"]],
  ["flow_run", "times_resurrected", `{_nin: [0]}`, ["b", "d"]],
  ["flow_run", "times_resurrected", `{_is_null: true}`, ["c"]],
  ["flow_run", "times_resurrected", `{_is_null: false}`, ["a", "b", "d"]],
  // Boolean
  ["flow", "archived", `{_eq: true}`, ["etl1"]],
  ["flow", "archived", `{_neq: true}`, ["betaEtl", "etl2", "report"]],
  ["flow", "archived", `{_gt: false}`, ["etl1"]],
  ["flow", "archived", `{_gte: false}`, ["betaEtl", "etl1", "etl2", "report"]],
  ["flow", "archived", `{_lt: true}`, ["betaEtl", "etl2", "report"]],
  ["flow", "archived", `{_lte: false}`, ["betaEtl", "etl2", "report"]],
  ["flow", "archived", `{_in: [true]}`, ["etl1"]],
  ["flow", "archived", `{_nin: [true]}`, ["betaEtl", "etl2", "report"]],
  ["log", "is_loaded_from_archive", `{_is_null: true}`, ["log0", "log1", "log2", "log3"]],
  ["log", "is_loaded_from_archive", `{_is_null: false}`, []],
  // timestamptz (a naive timestamp is UTC; other offsets are converted)
  ["flow_run", "scheduled_start_time", `{_eq: "2024-01-02T00:00:00+00:00"}`, ["b"]],
  ["flow_run", "scheduled_start_time", `{_eq: "2024-01-02T01:00:00+01:00"}`, ["b"]],
  ["flow_run", "scheduled_start_time", `{_eq: "2024-01-01T00:00:00.123456Z"}`, ["a"]],
  ["flow_run", "scheduled_start_time", `{_neq: "2024-01-02T00:00:00Z"}`, ["a", "c", "d"]],
  ["flow_run", "scheduled_start_time", `{_gt: "2024-01-02T00:00:00"}`, ["c", "d"]],
  ["flow_run", "scheduled_start_time", `{_gte: "2024-01-02T00:00:00Z"}`, ["b", "c", "d"]],
  ["flow_run", "scheduled_start_time", `{_lt: "2024-01-02T00:00:00Z"}`, ["a"]],
  ["flow_run", "scheduled_start_time", `{_lte: "2024-01-03T12:30:00.5+00:00"}`, ["a", "b", "c"]],
  ["flow_run", "scheduled_start_time", `{_in: ["2024-01-02T00:00:00Z", "2024-01-04T00:00:00+00:00"]}`, ["b", "d"]],
  ["flow_run", "scheduled_start_time", `{_nin: ["2024-01-02T00:00:00Z", "2024-01-04T00:00:00+00:00"]}`, ["a", "c"]],
  ["flow_run", "start_time", `{_is_null: true}`, ["c", "d"]],
  ["flow_run", "start_time", `{_is_null: false}`, ["a", "b"]],
  // interval (compared as durations: 1 day 02:00:00 = 26:00:00)
  ["task", "retry_delay", `{_eq: "00:05:00"}`, ["t1"]],
  ["task", "retry_delay", `{_eq: "26:00:00"}`, ["t2"]],
  ["task", "retry_delay", `{_neq: "00:05:00"}`, ["t2"]],
  ["task", "retry_delay", `{_gt: "00:05:00"}`, ["t2"]],
  ["task", "retry_delay", `{_gte: "5 minutes"}`, ["t1", "t2"]],
  ["task", "retry_delay", `{_lt: "1 day"}`, ["t1"]],
  ["task", "retry_delay", `{_lte: "1 day 02:00:00"}`, ["t1", "t2"]],
  ["task", "retry_delay", `{_in: ["5 minutes", "2 days"]}`, ["t1"]],
  ["task", "retry_delay", `{_nin: ["5 minutes"]}`, ["t2"]],
  ["task", "retry_delay", `{_is_null: true}`, OTHER_TASKS],
  ["task", "retry_delay", `{_is_null: false}`, ["t1", "t2"]],
  // jsonb (Postgres' jsonb order: an object with more pairs is greater; equal counts compare keys, then values)
  ["flow_run", "parameters", `{_eq: {x: 2}}`, ["b"]],
  ["flow_run", "parameters", `{_neq: {}}`, ["a", "b"]],
  ["flow_run", "parameters", `{_gt: {x: 1}}`, ["a", "b"]],
  ["flow_run", "parameters", `{_gte: {x: 2}}`, ["a", "b"]],
  ["flow_run", "parameters", `{_lt: {x: 1}}`, ["c", "d"]],
  ["flow_run", "parameters", `{_lte: {x: 2}}`, ["b", "c", "d"]],
  ["flow_run", "parameters", `{_in: [{}, {x: 2}]}`, ["b", "c", "d"]],
  ["flow_run", "parameters", `{_nin: [{}]}`, ["a", "b"]],
  ["tenant", "info", `{_is_null: true}`, ["alpha"]],
  ["tenant", "info", `{_is_null: false}`, ["beta"]],
  ["flow_run", "parameters", `{_contains: {x: 1}}`, ["a"]],
  ["flow_run", "parameters", `{_contains: {deep: {k: [20]}}}`, ["a"]],
  ["flow_run", "parameters", `{_contained_in: {x: 2, y: 3}}`, ["b", "c", "d"]],
  ["flow_run", "parameters", `{_has_key: "deep"}`, ["a"]],
  ["flow_run", "parameters", `{_has_keys_any: ["deep", "x"]}`, ["a", "b"]],
  ["flow_run", "parameters", `{_has_keys_all: ["deep", "x"]}`, ["a"]],
  ["flow_run", "labels", `{_has_key: "y"}`, ["d"]],
  ["flow_run", "labels", `{_contains: ["x"]}`, ["a"]],
  // several operators in one comparison are ANDed
  ["flow_run", "version", `{_gte: 2, _lt: 5}`, ["a", "d"]],
  ["flow_run", "scheduled_start_time", `{_gte: "2024-01-02T00:00:00Z", _lte: "2024-01-03T23:59:59Z"}`, ["b", "c"]],
];

describe("comparison operators", () => {
  test.each(OPERATOR_CASES)("%s.%s %s", async (table, column, comparison, expected) => {
    expect(await matching(table, `{${column}: ${comparison}}`)).toEqual(expected);
  });

  test("operands from variables", async () => {
    const source = "$p: jsonb, $keys: [String!], $ids: [uuid!], $from: timestamptz, $delay: interval";
    const where = `{parameters: {_contains: $p, _has_keys_any: $keys}, flow_id: {_in: $ids}, scheduled_start_time: {_gte: $from}, flow: {tasks: {retry_delay: {_gt: $delay}}}}`;
    const rows = await matching("flow_run", where, { p: { x: 2 }, keys: ["x"], ids: [flow.etl2], from: "2024-01-01T00:00:00Z", delay: "01:00:00" }, source);
    expect(rows).toEqual(["b"]);
  });

  test("a malformed operand is refused before any SQL, in our words", async () => {
    const result = await graph.run(`{ flow_run(where: {scheduled_start_time: {_gt: "yesterday-ish"}}) { id } }`);
    expect(result.errors?.[0]?.message).toMatch(/^Could not parse timestamptz: "yesterday-ish" \(expected an ISO-8601 timestamp/);
  });
});

/** Every operator of every comparison type, with the column it is tried on, its operand type and the row count. */
const COLLAPSE_COLUMNS: ReadonlyArray<readonly [string, string, string, number]> = [
  ["flow_run", "flow_id", "uuid", 4],
  ["flow_run", "name", "String", 4],
  ["flow_run", "version", "Int", 4],
  ["flow", "archived", "Boolean", 4],
  ["flow_run", "scheduled_start_time", "timestamptz", 4],
  ["task", "retry_delay", "interval", 11],
  ["flow_run", "parameters", "jsonb", 4],
];
const COMMON = ["_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"];
const STRING = ["_like", "_nlike", "_ilike", "_nilike", "_similar", "_nsimilar", "_regex", "_nregex", "_iregex", "_niregex"];
const JSONB = ["_contains", "_contained_in", "_has_key", "_has_keys_any", "_has_keys_all"];

function operandType(scalar: string, operator: string): string {
  if (operator === "_in" || operator === "_nin") return `[${scalar}!]`;
  if (operator === "_is_null") return "Boolean";
  if (operator === "_has_key") return "String";
  if (operator === "_has_keys_any" || operator === "_has_keys_all") return "[String!]";
  return scalar;
}

const COLLAPSE_CASES = COLLAPSE_COLUMNS.flatMap(([table, column, scalar, count]) =>
  [...COMMON, ...(scalar === "String" ? STRING : []), ...(scalar === "jsonb" ? JSONB : [])].flatMap((operator) =>
    (["literal null", "null variable", "absent variable"] as const).map((form) => [form, table, column, scalar, operator, count] as const),
  ),
);

describe("null collapse (HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE=true): a null operand adds no condition", () => {
  test.each(COLLAPSE_CASES)("%s: %s.%s (%s) %s", async (form, table, column, scalar, operator, count) => {
    const declaration = `$v: ${operandType(scalar, operator)}`;
    const rows =
      form === "literal null"
        ? await matching(table, `{${column}: {${operator}: null}}`)
        : await matching(table, `{${column}: {${operator}: $v}}`, form === "null variable" ? { v: null } : {}, declaration);
    expect(rows).toHaveLength(count);
  });

  test.each([
    ["a null operand beside a real one", `{name: {_eq: null, _neq: "run-a"}}`, ["b", "d"]],
    ["a null column comparison", `{name: null, version: {_gt: 2}}`, ["a", "b"]],
    ["a null relationship", `{flow: null, agent: null}`, ALL_RUNS],
    ["null _and / _or / _not", `{_and: null, _or: null, _not: null}`, ALL_RUNS],
    ["a null inside _or", `{_or: [{name: {_eq: null}}, {version: {_eq: 1}}]}`, ALL_RUNS],
    ["a null inside _not", `{_not: {name: {_eq: null}}}`, []],
    // The related row must exist, even when nothing is asked of it (Hasura: EXISTS (… WHERE join AND true)).
    ["a collapsed object relationship filter", `{agent: {name: {_eq: null}}}`, ["a"]],
  ])("%s", async (_name, where, expected) => {
    expect(await matching("flow_run", where)).toEqual(expected);
  });

  test("variables inside a relationship filter (the UI's `flow: {project_id: {_eq: $projectId}}`)", async () => {
    const source = "$projectId: uuid, $name: String";
    const where = `{flow: {project_id: {_eq: $projectId}, name: {_ilike: $name}}}`;
    expect(await matching("flow_run", where, { projectId: null }, source)).toEqual(ALL_RUNS);
    expect(await matching("flow_run", where, { projectId: ids.project.two }, source)).toEqual(["c"]);
    expect(await matching("flow_run", where, { name: "ETL" }, source)).toEqual(["a", "b", "d"]);
  });
});

describe("{} and the connectives", () => {
  test.each([
    ["{}", `{}`, ALL_RUNS],
    ["an empty comparison", `{name: {}}`, ALL_RUNS],
    ["_and: []", `{_and: []}`, ALL_RUNS],
    ["_and: [{}, {}]", `{_and: [{}, {}]}`, ALL_RUNS],
    ["_or: []", `{_or: []}`, []],
    ["_or: [{}]", `{_or: [{}]}`, ALL_RUNS],
    ["_not: {}", `{_not: {}}`, []],
    ["_or of two", `{_or: [{version: {_eq: 1}}, {name: {_eq: "run-a"}}]}`, ["a", "c"]],
    ["_not", `{_not: {version: {_gt: 2}}}`, ["c", "d"]],
    ["_not keeps SQL's null logic", `{_not: {name: {_eq: "run-a"}}}`, ["b", "d"]],
    ["keys of one object are ANDed", `{version: {_gt: 1}, state: {_neq: "Failed"}, flow: {name: {_eq: "etl"}}}`, ["a", "b"]],
    ["nested connectives", `{_and: [{_or: [{version: {_eq: 5}}, {version: {_eq: 2}}]}, {_not: {_or: [{state: {_eq: "Failed"}}]}}]}`, ["b"]],
    // Core's FlowRunView.get_logs: `_and: [{…}, {}]`
    ["{} inside _and beside a condition", `{_and: [{version: {_lte: 2}}, {}]}`, ["c", "d"]],
  ])("%s", async (_name, where, expected) => {
    expect(await matching("flow_run", where)).toEqual(expected);
  });
});

describe("a single value where a list is expected (GraphQL list coercion)", () => {
  test.each([
    ["_and: {…}", `{_and: {name: {_eq: "etl"}, project: {id: {_eq: "${ids.project.one}"}}}}`, ["etl1", "etl2"]],
    ["_or: {…}", `{_or: {version: {_eq: 2}}}`, ["etl2"]],
    ["_in: value", `{name: {_in: "report"}}`, ["report"]],
    ["_nin: value", `{name: {_nin: "etl"}}`, ["report"]],
    ["_has_keys_any: value", `{settings: {_has_keys_any: "heartbeat_enabled"}}`, ["etl2"]],
  ])("%s", async (_name, where, expected) => {
    expect(await matching("flow", where)).toEqual(expected);
  });

  test("a variable given one object for a list (Core's `_and: {…}` and the UI's `_or: $searchParams`)", async () => {
    const rows = await matching("flow", `{_or: $search}`, { search: { name: { _eq: "report" } } }, "$search: [flow_bool_exp!]");
    expect(rows).toEqual(["report"]);
    expect(await matching("flow", `{name: {_in: $names}}`, { names: "report" }, "$names: [String!]")).toEqual(["report"]);
  });

  test("a whole where from a variable", async () => {
    const rows = await matching("flow", `$where`, { where: { archived: { _eq: false }, name: { _eq: "etl" } } }, "$where: flow_bool_exp");
    expect(rows).toEqual(["betaEtl", "etl2"]);
    expect(await matching("flow", `$where`, { where: null }, "$where: flow_bool_exp")).toHaveLength(4);
  });
});

describe("relationship filters", () => {
  test.each([
    // object relationships: the related row matches
    ["flow_run", `{flow: {name: {_eq: "report"}}}`, ["c"]],
    ["flow_run", `{flow: {project: {name: {_eq: "proj-three"}}}}`, ["d"]],
    ["flow_run", `{agent: {agent_config: {name: {_eq: "config-1"}}}}`, ["a"]],
    ["flow_run", `{agent: {}}`, ["a"]],
    ["flow_run", `{_not: {agent: {}}}`, ["b", "c", "d"]],
    // array relationships: some related row matches (EXISTS), never a row per match
    ["flow", `{flow_runs: {state: {_eq: "Running"}}}`, ["etl2"]],
    ["flow", `{flow_runs: {}}`, ["betaEtl", "etl2", "report"]],
    ["flow", `{_not: {flow_runs: {}}}`, ["etl1"]],
    ["flow", `{flow_runs: {version: {_gt: 100}}}`, []],
    ["flow", `{tasks: {retry_delay: {_is_null: false}}}`, ["etl2"]],
    ["flow", `{flow_runs: {state: {_eq: "Running"}}, tasks: {name: {_eq: "report-task"}}}`, []],
    ["flow", `{_or: [{flow_runs: {state: {_eq: "Failed"}}}, {tasks: {name: {_eq: "report-task"}}}]}`, ["betaEtl", "report"]],
    ["tenant", `{projects: {flows: {flow_runs: {state: {_eq: "Failed"}}}}}`, ["beta"]],
    ["tenant", `{flows: {archived: {_eq: true}}}`, ["alpha"]],
    // Core #31: an array relationship inside _or
    ["flow_run", `{_or: [{state: {_eq: "Scheduled"}}, {state: {_eq: "Running"}, task_runs: {state_start_time: {_lte: "2024-01-01T00:00:15Z"}}}]}`, ["a", "c"]],
    ["flow_run", `{_or: [{state: {_eq: "Scheduled"}}, {state: {_eq: "Running"}, task_runs: {state_start_time: {_lte: "2024-01-01T00:00:05Z"}}}]}`, ["c"]],
    // the manual relationship of utility_traversal and the edges of a task
    ["task", `{downstream_edges: {downstream_task: {name: {_eq: "t9"}}}}`, ["t3", "t4", "t8"]],
    ["task", `{upstream_edges: {}}`, ["t10", "t2", "t3", "t4", "t5", "t7", "t8", "t9"]],
  ])("%s %s", async (table, where, expected) => {
    expect(await matching(table, where)).toEqual(expected);
  });

  test("object relationships of different tables in one filter (task_run → flow_run, task)", async () => {
    const data = await graph.data(`{ task_run(where: {flow_run: {state: {_eq: "Running"}}, task: {slug: {_in: ["t1", "t3"]}}}, order_by: {task: {slug: asc}}) { state task { slug } } }`);
    expect(data.task_run).toEqual([
      { state: "Success", task: { slug: "t1" } },
      { state: "Running", task: { slug: "t3" } },
    ]);
  });

  test("nested list fields filter per parent row", async () => {
    const data = await graph.data(`{ flow(where: {id: {_eq: "${flow.etl2}"}}) { tasks(where: {retry_delay: {_is_null: false}}) { name } flow_runs(where: {agent: {}}) { name } } }`);
    expect(data.flow).toEqual([{ tasks: [{ name: "t1" }, { name: "t2" }], flow_runs: [{ name: "run-a" }] }]);
  });
});

describe("unknown fields and bad values", () => {
  test.each([
    [`{ flow(where: {nope: {_eq: 1}}) { id } }`, /Field "nope" is not defined by type "flow_bool_exp"/],
    [`{ flow(where: {name: {_contains: "x"}}) { id } }`, /Field "_contains" is not defined by type "String_comparison_exp"/],
    [`{ flow(where: {version: {_like: "1"}}) { id } }`, /Field "_like" is not defined by type "Int_comparison_exp"/],
    [`{ flow(where: {version: {_eq: "one"}}) { id } }`, /Int cannot represent non-integer value/],
    [`{ flow(where: {id: {_eq: "${flow.etl1.slice(0, 10)}"}}) { id } }`, /Could not parse uuid/],
  ])("%s", async (source, message) => {
    const result = await graph.run(source);
    expect(result.errors?.[0]?.message).toMatch(message);
  });
});
