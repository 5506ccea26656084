// Documents that differ only in scalar literals share one lifted document, and so one grafast plan
// (services/postgraphile/src/hasura/literals.ts); every answer and error must stay what the document as written
// gets. Each case runs on the service's schema (literals lifted) and on one that runs documents as written.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "graphql";
import { makeDataGraphSchema, type DataGraphSchema } from "../../services/postgraphile/src/preset.ts";
import { liftLiterals } from "../../services/postgraphile/src/hasura/literals.ts";
import { runOperation, useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph();
let asWritten: DataGraphSchema | undefined;
beforeAll(async () => {
  asWritten = await makeDataGraphSchema({ connectionString: graph.db.url, poolSize: 2, liftLiterals: false });
});
afterAll(async () => {
  await asWritten?.release();
});

async function runAsWritten(source: string, variableValues?: Record<string, unknown>) {
  return JSON.parse(JSON.stringify(await runOperation(asWritten!, source, variableValues))) as unknown;
}
async function runLifted(source: string, variableValues?: Record<string, unknown>) {
  const { statements: _statements, ...result } = await graph.run(source, variableValues);
  return JSON.parse(JSON.stringify(result)) as unknown;
}

const BY_PK = (id: string) => `query {
    flow_run_by_pk(id: "${id}") {
        id
        name
        version
        scheduled_start_time
        task_runs(where: { map_index: { _eq: -1 } }, order_by: {id: asc}) {
            id
            task {
                id
                slug
            }
        }
        flow {
            project {
                name
                id
            }
        }
    }
}`;

/** [name, document, variables?] — documents with literals of every kind, answers and errors. */
const CASES: Array<[string, string, Record<string, unknown>?]> = [
  ["Core's flow_run_by_pk, run a", BY_PK(ids.flowRun.a)],
  ["the same shape, run b", BY_PK(ids.flowRun.b)],
  ["the same shape, a missing run", BY_PK(ids.missing)],
  ["the same shape, an upper-case id", BY_PK(ids.flowRun.c.toUpperCase())],
  ["the same shape, not a uuid (validation error)", BY_PK("not-a-uuid-at-all-but-36-characters!")],
  ["ints, floats, strings and lists", `{ flow_run(where: {version: {_gte: 1}, state: {_in: ["Running", "Success", "Failed"]}, name: {_like: "run-%"}}, order_by: {name: asc}, limit: 3, offset: 0) { name version } }`],
  ["a single value for a list", `{ flow_run(where: {state: {_in: "Running"}}, order_by: {name: asc}) { name } }`],
  ["a float compared with an int literal", `{ flow_run_aggregate(where: {version: {_lt: 2.5}}) { aggregate { count } } }`],
  ["jsonb objects stay literal", `{ flow_run(where: {parameters: {_contains: {x: 1}}}) { name parameters } }`],
  ["jsonb objects stay literal, another value", `{ flow_run(where: {parameters: {_contains: {x: 2}}}) { name parameters } }`],
  ["a jsonb scalar literal", `{ flow_run(where: {parameters: {_has_key: "x"}}, order_by: {name: asc}) { name } }`],
  ["json paths", `{ flow_run_by_pk(id: "${ids.flowRun.a}") { whole: parameters(path: "$") x: parameters(path: "x") k: parameters(path: "$.deep.k[1]") } }`],
  ["aliases with equal literals", `{ a: flow_by_pk(id: "${ids.flow.etl2}") { name } a: flow_by_pk(id: "${ids.flow.etl2}") { name } }`],
  ["aliases with different literals (validation error)", `{ a: flow_by_pk(id: "${ids.flow.etl2}") { name } a: flow_by_pk(id: "${ids.flow.etl1}") { name } }`],
  ["fragments with literals", `query { ...F } fragment F on query_root { flow(where: {name: {_eq: "etl"}}, order_by: {version: desc}, limit: 1) { version } }`],
  ["variables beside literals", `query($name: String) { flow(where: {name: {_eq: $name}, version: {_eq: 2}}) { id } }`, { name: "etl" }],
  ["a directive keeps its literal", `{ flow(where: {name: {_eq: "etl"}}, order_by: {version: asc}) { version id @include(if: true) } }`],
  ["a variable default keeps its literal", `query($v: Int = 1) { flow(where: {version: {_eq: $v}, name: {_eq: "etl"}}) { version } }`],
  ["a negative limit (execution error)", `{ flow(limit: -1) { id } }`],
  ["an invalid timestamp (database error)", `{ flow(where: {created: {_gt: "not a time"}}) { id } }`],
  ["a timestamp", `{ flow_run_aggregate(where: {scheduled_start_time: {_gte: "2024-01-01T00:00:00+00:00"}}) { aggregate { count } } }`],
  ["an Int out of range (validation error)", `{ flow(limit: 99999999999) { id } }`],
  ["distinct_on against order_by (execution error)", `{ flow(distinct_on: name, order_by: {version: asc}, where: {name: {_neq: "x"}}) { id } }`],
  ["count with columns and an aggregate limit", `{ flow_run_aggregate(limit: 2, where: {name: {_ilike: "RUN%"}}) { aggregate { count(columns: [name], distinct: true) } } }`],
  ["a function root", `{ utility_downstream_tasks(args: {start_task_ids: "{${ids.task.t1}}", depth_limit: 1}, order_by: {depth: asc}) { depth } }`],
  ["escapes in strings", `{ flow(where: {name: {_eq: "e\\u0074l"}}, order_by: {version: asc}) { version } }`],
  ["a block string stays literal", `{ flow(where: {name: {_eq: """etl"""}}, order_by: {version: asc}) { version } }`],
  ["two operations run as written", `query A { flow(limit: 1, order_by: {id: asc}) { id } } query B { tenant(limit: 1) { id } }`],
];

describe("lifted literals answer as the document as written", () => {
  test.each(CASES)("%s", async (_name, source, variables) => {
    // twice: the second run reuses the shape (and its plan) learnt by the first, or by an earlier case
    for (let i = 0; i < 2; i++) expect(await runLifted(source, variables)).toEqual(await runAsWritten(source, variables));
  });

  test("one shape, one document: only the literals' values differ", () => {
    const a = liftLiterals(graph.graph.schema, parse(BY_PK(ids.flowRun.a)), null);
    const b = liftLiterals(graph.graph.schema, parse(BY_PK(ids.flowRun.b)), { other: 1 });
    expect(b.document).toBe(a.document);
    expect(Object.values(a.variableValues!)).toEqual([ids.flowRun.a, -1]);
    expect(b.variableValues).toEqual({ other: 1, ...Object.fromEntries(Object.keys(a.variableValues!).map((k, i) => [k, [ids.flowRun.b, -1][i]])) });
  });

  test("other spacing or literal lengths are other shapes (error locations stay the document's own)", () => {
    const a = liftLiterals(graph.graph.schema, parse(`{ flow(limit: 1) { id } }`), null);
    expect(liftLiterals(graph.graph.schema, parse(`{ flow(limit: 2) { id } }`), null).document).toBe(a.document);
    expect(liftLiterals(graph.graph.schema, parse(`{ flow(limit: 10) { id } }`), null).document).not.toBe(a.document);
    expect(liftLiterals(graph.graph.schema, parse(`{  flow(limit: 1) { id } }`), null).document).not.toBe(a.document);
  });

  test("execution errors keep the locations of the document as written", async () => {
    const doc = (limit: string) => `{\n  flow(limit: ${limit}) { id }\n}`;
    await runLifted(doc("-1"));
    const result = (await runLifted(doc("-2"))) as { errors: Array<{ message: string; locations: unknown }> };
    expect(result.errors[0]!.message).toMatch(/got -2/);
    expect(result).toEqual(await runAsWritten(doc("-2")));
  });

  test("mutations and documents without literals run as written", () => {
    for (const source of [`mutation { insert_tenant(objects: [{name: "x"}]) { affected_rows } }`, `{ flow { id } }`]) {
      const document = parse(source);
      expect(liftLiterals(graph.graph.schema, document, null).document).toBe(document);
    }
  });
});
