/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// The fast path: which documents it takes (the router), and that every operation gets the same answer from it as
// from the query planner, in both modes.
import { describe, expect, test } from "vitest";
import { ids } from "../postgraphile/seed.ts";
import { SubgraphError } from "../../services/gateway/src/subgraphs.ts";
import { MODES, useStacks, type Mode } from "./helpers.ts";

const stacks = useStacks();

/** [name, request, the subgraph the fast path sends it to (null: the planner)] */
const CORPUS: [string, { query: string; variables?: Record<string, unknown> | null; operationName?: string }, string | null][] = [
  ["a Hasura list query", { query: `{ flow(order_by: {name: asc}, where: {archived: {_eq: null}}) { id name version project { name } } }` }, "postgraphile"],
  ["Core's flow-run query with variables", { query: `query($id: uuid!) { flow_run_by_pk(id: $id) { id name state flow { name } task_runs(order_by: {id: asc}) { id } } }`, variables: { id: ids.flowRun.a } }, "postgraphile"],
  ["aggregates with aliases", { query: `query Counts { a: flow_run_aggregate(where: {state: {_eq: "Success"}}) { aggregate { count } } b: flow_run_aggregate { aggregate { count } } }`, operationName: "Counts" }, "postgraphile"],
  ["fragments at the root", { query: `query { ...Roots } fragment Roots on Query { tenant(order_by: {slug: asc}) { slug } }` }, "postgraphile"],
  ["__typename beside data", { query: `{ __typename project(order_by: {name: asc}) { __typename name } }` }, "postgraphile"],
  ["a null-collapsed filter", { query: `query($p: uuid) { flow(where: {project_id: {_eq: $p}}, order_by: {id: asc}) { id } }`, variables: { p: null } }, "postgraphile"],
  ["the service's queries", { query: `{ hello api { mode backend } reference_data { state_info } }` }, "mutations"],
  ["mapped_children", { query: `query($id: UUID!) { mapped_children(task_run_id: $id) { state_counts } }`, variables: { id: ids.missing } }, "mutations"],
  ["a mutation that fails with v1's text", { query: `mutation { create_tenant(input: {name: "alpha", slug: "alpha"}) { id } }` }, "mutations"],
  ["a mutation on a missing row", { query: `mutation($input: set_flow_run_name_input!) { set_flow_run_name(input: $input) { success } }`, variables: { input: { flow_run_id: ids.missing, name: "x" } } }, "mutations"],
  ["an execution error of the data graph", { query: `{ flow(limit: -1) { id } }` }, "postgraphile"],
  // the composed schema's scalars read literals as the subgraphs do: the planner refuses these (HTTP 400)
  ["a timestamp literal the scalar refuses", { query: `{ flow(where: {created: {_gt: "not a time"}}) { id } }` }, null],
  ["a string literal the scalar refuses", { query: `{ flow_by_pk(id: "not-a-uuid") { id } }` }, null],
  ["a variable the subgraph's scalar rejects", { query: `query($id: uuid!) { flow_by_pk(id: $id) { id } }`, variables: { id: "not-a-uuid" } }, "postgraphile"],
  ["both subgraphs", { query: `{ hello flow(limit: 1, order_by: {id: asc}) { id } }` }, null],
  ["introspection", { query: `{ __schema { queryType { name } } }` }, null],
  ["introspection beside data", { query: `{ __type(name: "flow") { name } flow(limit: 1) { id } }` }, null],
  ["two operations in one document", { query: `query A { hello } query B { flow(limit: 1) { id } }`, operationName: "A" }, null],
  ["an unknown field", { query: `{ flow { nope } }` }, null],
  ["a syntax error", { query: `{ flow { id ` }, null],
  // variables are the subgraph's to check: what it refuses as a whole, the planner answers
  ["a missing variable", { query: `query($id: uuid!) { flow_by_pk(id: $id) { id } }` }, "postgraphile"],
  ["a mutation's variable of the wrong type", { query: `mutation($input: set_flow_run_name_input!) { set_flow_run_name(input: $input) { success } }`, variables: { input: { flow_run_id: 5 } } }, "mutations"],
  ["a wrong operationName", { query: `query A { hello }`, operationName: "B" }, null],
  ["too deep", { query: `{ flow { flow_runs { task_runs { task { flow { flow_runs { task_runs { task { id } } } } } } } } }` }, null],
];

describe.each(MODES)("%s", (mode: Mode) => {
  const gateway = () => stacks[mode].gateway.gateway;

  test.each(CORPUS)("%s: routed as expected", (_name, request, expected) => {
    const { route } = gateway().router!.route(request.query, request.operationName);
    expect(route.kind === "subgraph" ? route.subgraph : null).toBe(expected);
  });

  test.each(CORPUS)("%s: the same answer by both paths", async (_name, request) => {
    const operation = { ...request, variables: request.variables ?? null, operationName: request.operationName ?? null };
    const fast = await gateway().execute(operation, {});
    const planned = await gateway().executePlanned(operation, {});
    expect(fast).toEqual(planned);
    expect(fast.status).toBeLessThan(500);
  });

  // the root field a failed fetch leaves null: `flow` is non-null (so `data` is null), `create_tenant` is nullable
  test.each([
    ["postgraphile", CORPUS[0]![1], null],
    ["mutations", CORPUS[8]![1], { create_tenant: null }],
  ])("a %s subgraph that cannot be reached: the same error by both paths", async (name, request, data) => {
    const subgraph = gateway().subgraphs.get(name)!;
    const { send, forward } = subgraph;
    const unreachable = () => Promise.reject(new SubgraphError(`Subgraph "${name}" at ${subgraph.url} is unreachable: connect ECONNREFUSED`));
    subgraph.send = unreachable;
    if (forward) subgraph.forward = unreachable;
    try {
      const operation = { ...request, variables: null, operationName: null };
      const fast = await gateway().execute(operation, {});
      expect(fast).toEqual(await gateway().executePlanned(operation, {}));
      expect(fast).toEqual({
        status: 200,
        body: { data, errors: [{ message: expect.stringMatching(/unreachable/), extensions: { code: "INTERNAL_SERVER_ERROR" } }] },
      });
    } finally {
      subgraph.send = send;
      subgraph.forward = forward;
    }
  });

  test("the answers are real (a spot check of the corpus)", async () => {
    const result = await gateway().execute({ ...CORPUS[8]![1], variables: null, operationName: null }, {});
    expect(result.body).toEqual({ data: { create_tenant: null }, errors: [{ message: "Uniqueness violation.", path: ["create_tenant"], extensions: { code: "BAD_USER_INPUT" } }] });
    const flows = await gateway().execute({ ...CORPUS[0]![1], variables: null, operationName: null }, {});
    expect((flows.body.data as any).flow.map((f: any) => f.name)).toEqual(["etl", "etl", "etl", "report"]);
  });
});

test("distributed: a subgraph's answer without errors is passed on as received, others as the planner shapes them", async () => {
  const gateway = stacks.distributed.gateway.gateway;
  const run = (index: number) => gateway.execute({ ...CORPUS[index]![1], variables: CORPUS[index]![1].variables ?? null, operationName: null }, {});
  const flows = await run(0);
  expect(flows.json).toMatch(/^\{"data":\{"flow":\[/);
  expect(JSON.parse(flows.json!)).toEqual(flows.body);
  expect(Object.keys(flows)).toEqual(["status", "body"]); // not enumerable: results compare as before
  const failed = await run(8);
  expect(failed.json).toBeUndefined();
  expect(failed.body.errors).toHaveLength(1);
});

describe("the router", () => {
  test("decides once per document shape: documents that differ only in their strings' contents share it", () => {
    const router = stacks.in_process.gateway.gateway.router!;
    const route = (query: string, name: string | null) => router.route(query, name).route;
    const byPk = (id: string) => `{ flow_by_pk(id: "${id}") { id name } }`;
    const first = route(byPk(ids.flow.report), null);
    expect(first.kind).toBe("subgraph");
    expect(route(byPk(ids.missing), null)).toBe(first);
    expect(route(byPk("not-a-uuid"), null)).toBe(first); // the subgraph rejects it (see the corpus)
    // spacing, commas, comments and block strings are not part of a shape…
    expect(route(`{flow_by_pk(id:"""${ids.missing}"""),{id,name}} # Core`, null)).toBe(first);
    // …names, numbers and the kinds of tokens are
    expect(route(`{ flow_by_pk(id: "${ids.missing}") { name id } }`, null)).not.toBe(first);
    const limited = (limit: string) => `{ flow(limit: ${limit}) { id } }`;
    const one = route(limited("1"), null);
    expect(one.kind).toBe("subgraph");
    expect(route(limited("2"), null)).not.toBe(one);
    expect(route(limited("2147483648"), null).kind).toBe("planner"); // beyond Int: the planner's error
    expect(route(limited('"1"'), null).kind).toBe("planner");
    expect(route(`{ flow_by_pk(id: "unterminated) { id } }`, null).kind).toBe("planner");
  });

  test("fast_path=false sends everything through the planner", async () => {
    const { startStack } = await import("./helpers.ts");
    const stack = await startStack("in_process", stacks.db.url, { PREFECT_SERVER__SERVICES__GATEWAY__FAST_PATH: "false" });
    try {
      const sends: string[] = [];
      for (const subgraph of stack.gateway.gateway.subgraphs.values()) {
        const send = subgraph.send.bind(subgraph);
        subgraph.send = async (request, headers) => {
          sends.push(request.query);
          return send(request, headers);
        };
      }
      const result = await stack.gateway.gateway.execute({ query: `query Q { hello }`, variables: null, operationName: null }, {});
      expect(result.body).toEqual({ data: { hello: "👋" } });
      // the planner rewrites the operation for the subgraph; the fast path would have sent it verbatim
      expect(sends).toHaveLength(1);
      expect(sends[0]).not.toBe(`query Q { hello }`);
    } finally {
      await stack.stop();
    }
  });
});
