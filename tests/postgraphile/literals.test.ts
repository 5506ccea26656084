// Documents that differ only in scalar literals share one lifted document, and so one grafast plan
// (services/postgraphile/src/hasura/literals.ts); every answer and error must stay what the document as written
// gets. Each case runs on the service's schema (literals lifted) and on one that runs documents as written, in
// process and over HTTP (where a text of a known shape also skips grafserv's parse and validation).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "graphql";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import { createDataGraphPool, makeDataGraphPreset, makeDataGraphSchema, type DataGraphSchema } from "../../services/postgraphile/src/preset.ts";
import { liftLiterals, substituteKnownShape } from "../../services/postgraphile/src/hasura/literals.ts";
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

/** The data graph over HTTP as the service serves it (grafserv), lifting literals or running documents as written. */
async function serveGraph(lift: boolean): Promise<{ post(query: string, variables?: Record<string, unknown>): Promise<unknown>; close(): Promise<void> }> {
  const pool = createDataGraphPool(graph.db.url, { max: 2 });
  const serv = postgraphile(makeDataGraphPreset(pool, { log: { error: () => {}, warn: () => {} }, liftLiterals: lift })).createServ(grafserv);
  const server = createServer(serv.createHandler());
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return {
    post: async (query, variables) => {
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
      return { status: response.status, body: await response.json() };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((closed) => server.close(closed));
      await serv.release();
      await pool.end();
    },
  };
}

describe("over HTTP, texts of a known shape answer as the document as written", () => {
  let lifted: Awaited<ReturnType<typeof serveGraph>>;
  let written: Awaited<ReturnType<typeof serveGraph>>;
  beforeAll(async () => {
    [lifted, written] = await Promise.all([serveGraph(true), serveGraph(false)]);
  });
  afterAll(async () => {
    await Promise.all([lifted?.close(), written?.close()]);
  });

  test.each(CASES)("%s", async (_name, source, variables) => {
    for (let i = 0; i < 2; i++) expect(await lifted.post(source, variables)).toEqual(await written.post(source, variables));
  });

  test("execution errors keep the locations of the text as sent", async () => {
    const doc = (limit: string) => `{\n  flow(limit: ${limit}) { id }\n}`;
    await lifted.post(doc("-1"));
    const answer = (await lifted.post(doc("-3"))) as { body: { errors: Array<{ message: string }> } };
    expect(answer.body.errors[0]!.message).toMatch(/got -3/);
    expect(answer).toEqual(await written.post(doc("-3")));
  });
});

describe("substituteKnownShape", () => {
  const preset = {};
  const learn = (source: string) => liftLiterals(graph.graph.schema, parse(source), null, preset);

  test("a text of a learnt shape becomes the learnt text, with its own literals as the shape's variables", () => {
    const learnt = learn(BY_PK(ids.flowRun.a));
    const body: { query?: unknown; variableValues?: unknown } = { query: BY_PK(ids.flowRun.b), variableValues: { other: 1 } };
    substituteKnownShape(preset, body);
    expect(body.query).toBe(BY_PK(ids.flowRun.a));
    const names = Object.keys(learnt.variableValues!);
    expect(body.variableValues).toEqual({ other: 1, [names[0]!]: ids.flowRun.b, [names[1]!]: -1 });
    // and the lifted document runs with them
    const run = liftLiterals(graph.graph.schema, parse(BY_PK(ids.flowRun.a)), body.variableValues as Record<string, unknown>, preset);
    expect(run.document).toBe(learnt.document);
    expect(run.variableValues).toBe(body.variableValues);
  });

  test("leaves alone the learnt text, unknown shapes, invalid literals, other raw literals and clients' own lifted names", () => {
    learn(BY_PK(ids.flowRun.a));
    learn(`{ flow_run(where: {parameters: {_contains: {x: 1}}}, limit: 2) { name } }`);
    const unchanged = [
      { query: BY_PK(ids.flowRun.a) },
      { query: `{ flow(where: {name: {_eq: "never learnt"}}) { id } }` },
      { query: BY_PK("not-a-uuid-at-all-but-36-characters!") },
      { query: `{ flow_run(where: {parameters: {_contains: {x: 2}}}, limit: 3) { name } }` },
      { query: BY_PK(ids.flowRun.b), variableValues: "not an object" },
    ];
    for (const body of unchanged) {
      const before = { ...body };
      substituteKnownShape(preset, body);
      expect(body).toEqual(before);
    }
    // a client's variable named like a lifted one does not replace the literal it wrote
    const body = { query: BY_PK(ids.flowRun.b), variableValues: { _hasura_literal_0: ids.flowRun.c } as Record<string, unknown> };
    substituteKnownShape(preset, body);
    expect(Object.values(body.variableValues)).toContain(ids.flowRun.b);
    expect(Object.values(body.variableValues)).not.toContain(ids.flowRun.c);
  });

  test("without a learnt shape for the preset, nothing changes", () => {
    const body = { query: BY_PK(ids.flowRun.b) };
    substituteKnownShape({}, body);
    expect(body).toEqual({ query: BY_PK(ids.flowRun.b) });
  });
});
