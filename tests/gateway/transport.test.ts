/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// The transport rules real clients need (docs/gateway.md, "Sending requests"), in both modes: POST on / and /graphql,
// every form of `variables`, batches, status codes, the subgraphs' error texts and codes, CORS, x-prefect-*
// forwarding, the depth and body limits, /health and /ready, GET queries.
import net from "node:net";
import { describe, expect, test, vi } from "vitest";
import { ids } from "../postgraphile/seed.ts";
import { MODES, post, startGatewayOnly, startStack, useStacks, type Mode } from "./helpers.ts";

const stacks = useStacks();
const FLOW_BY_PK = `query($id: uuid!) { flow_by_pk(id: $id) { name } }`;

describe.each(MODES)("%s", (mode: Mode) => {
  const url = (path = "/") => `${stacks[mode].url}${path}`;

  test.each(["/", "/graphql", "/graphql/", "/anything/else"])("POST %s runs GraphQL", async (path) => {
    const response = await post(url(path), { query: FLOW_BY_PK, variables: { id: ids.flow.report } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { flow_by_pk: { name: "report" } } });
  });

  test.each([
    ["an object", { id: ids.flow.report }],
    ["a JSON-encoded string (Core)", JSON.stringify({ id: ids.flow.report })],
  ])("variables as %s", async (_what, variables) => {
    const response = await post(url(), { query: FLOW_BY_PK, variables });
    expect(response.body).toEqual({ data: { flow_by_pk: { name: "report" } } });
  });

  test.each([
    ["null", { variables: null }],
    ['the string "null" (Core)', { variables: "null" }],
    ["absent", {}],
    ["an empty string", { variables: "" }],
  ])("variables %s, operationName absent", async (_what, extra) => {
    const response = await post(url(), { query: `{ flow_by_pk(id: "${ids.flow.report}") { name } hello }`, ...extra });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { flow_by_pk: { name: "report" }, hello: "👋" } });
  });

  test.each([
    ["a string that is not JSON", "{not json"],
    ["a JSON array", "[1]"],
    ["a number", 3],
  ])("variables as %s is a 400 naming the problem", async (_what, variables) => {
    const response = await post(url(), { query: FLOW_BY_PK, variables });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toMatch(/variables/);
  });

  test("a batch is answered by an array in order; a failing operation does not fail the others", async () => {
    const response = await post(url("/graphql"), [
      { operationName: "Api", query: `query Api { api { mode } }`, variables: {} },
      { query: `{ nope }` },
      { query: FLOW_BY_PK, variables: JSON.stringify({ id: ids.flow.etl2 }) },
      { query: `mutation { create_tenant(input: {name: "t", slug: "batch-dup-${mode.replace("_", "-")}"}) { id } }` },
      { query: `mutation { create_tenant(input: {name: "t", slug: "batch-dup-${mode.replace("_", "-")}"}) { id } }` },
      "not an operation",
    ]);
    expect(response.status).toBe(200);
    const [api, invalid, flow, first, second, junk] = response.body as any[];
    expect(api).toEqual({ data: { api: { mode: "normal" } } });
    expect(invalid.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(flow).toEqual({ data: { flow_by_pk: { name: "etl" } } });
    // the two creations ran one after the other or concurrently: exactly one of them wins
    const results = [first, second];
    expect(results.filter((r) => r.data?.create_tenant?.id).length).toBe(1);
    expect(results.flatMap((r) => r.errors ?? []).map((e: any) => e.message)).toEqual(["Uniqueness violation."]);
    expect(junk.errors[0].message).toMatch(/JSON object/);
    expect(response.body).toHaveLength(6);
  });

  test("an empty batch is a 400", async () => {
    expect((await post(url(), [])).status).toBe(400);
  });

  test("execution errors are HTTP 200 with the subgraph's message and code", async () => {
    const query = `mutation($input: create_project_input!) { create_project(input: $input) { id } }`;
    const input = { tenant_id: ids.tenant.alpha, name: `dup-${mode}` };
    expect((await post(url(), { query, variables: { input } })).body.data.create_project.id).toBeTruthy();
    const response = await post(url(), { query, variables: JSON.stringify({ input }) });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ create_project: null });
    expect(response.body.errors).toEqual([{ message: "Uniqueness violation.", path: ["create_project"], extensions: { code: "BAD_USER_INPUT" } }]);
  });

  test("an error of the data graph reaches the client with its text", async () => {
    const response = await post(url(), { query: `{ flow(limit: -1) { id } }` });
    expect(response.status).toBe(200);
    expect(response.body.errors[0].message).toBe('expected a non-negative integer for "limit", got -1');
  });

  test.each([
    ["a literal", { query: `{ flow(where: {created: {_gt: "not a time"}}) { id } }` }],
    ["a variable", { query: `query($t: timestamptz) { flow(where: {created: {_gt: $t}}) { id } }`, variables: { t: "not a time" } }],
    ["a variable, beside the other subgraph", { query: `query($t: timestamptz) { hello flow(where: {created: {_gt: $t}}) { id } }`, variables: { t: "not a time" } }],
  ])("a malformed timestamp in %s is refused before any subgraph: HTTP 400 with the scalar's text", async (_what, body) => {
    const response = await post(url(), body);
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toMatch(/Could not parse timestamptz: "not a time" \(expected an ISO-8601 timestamp/);
    expect(response.body.data).toBeUndefined();
  });

  test.each([
    ["a syntax error", `{ flow { id `, "GRAPHQL_PARSE_FAILED"],
    ["an unknown field", `{ nope }`, "GRAPHQL_VALIDATION_FAILED"],
    ["a missing required variable", FLOW_BY_PK, "BAD_USER_INPUT"],
  ])("%s is a 400", async (_what, query, code) => {
    const response = await post(url(), { query });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].extensions.code).toBe(code);
  });

  test("a body that is not JSON is a 400, one that is not sent as JSON a 415", async () => {
    expect((await post(url(), "{oops")).status).toBe(400);
    const form = await fetch(url(), { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: "{ hello }" }) });
    expect(form.status).toBe(415);
  });

  test("queries deeper than 7 levels are rejected with a 400; 7 levels pass", async () => {
    const seven = `{ flow(limit: 1) { flow_runs(limit: 1) { task_runs(limit: 1) { task { flow { flow_runs(limit: 1) { task_runs(limit: 1) { id } } } } } } } }`;
    const eight = `{ flow(limit: 1) { flow_runs(limit: 1) { task_runs(limit: 1) { task { flow { flow_runs(limit: 1) { task_runs(limit: 1) { task { id } } } } } } } } }`;
    expect((await post(url(), { query: seven })).status).toBe(200);
    const response = await post(url(), { query: eight });
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toMatch(/deeper than the limit of 7 levels/);
  });

  test("introspection is on", async () => {
    const response = await post(url(), { query: `{ __schema { queryType { name } mutationType { name } } }` });
    expect(response.body).toEqual({ data: { __schema: { queryType: { name: "Query" }, mutationType: { name: "Mutation" } } } });
  });

  test("x-prefect-* headers reach the mutations service, on the fast path and through the planner", async () => {
    const register = `mutation($input: register_agent_input!) { register_agent(input: $input) { id } }`;
    const input = (name: string) => ({ tenant_id: ids.tenant.alpha, type: "LocalAgent", name });
    const fast = await post(url(), { query: register, variables: JSON.stringify({ input: input(`fast-${mode}`) }) }, { "X-PREFECT-CORE-VERSION": "1.4.1" });
    const planned = await stacks[mode].gateway.gateway.executePlanned(
      { query: register, variables: { input: input(`planned-${mode}`) } },
      { "x-prefect-core-version": "1.4.2", "x-other": "not forwarded" },
    );
    const { rows } = await stacks.db.pool.query("select core_version from agent where id = any($1) order by core_version", [
      [fast.body.data.register_agent.id, (planned.body.data as any).register_agent.id],
    ]);
    expect(rows).toEqual([{ core_version: "1.4.1" }, { core_version: "1.4.2" }]);
  });

  test("CORS: any origin, and a preflight allows the headers the UI sends", async () => {
    const requested = "content-type,x-prefect-ui,x-backend,x-prefect-tenant-id,x-prefect-user-id";
    const preflight = await fetch(url("/graphql"), {
      method: "OPTIONS",
      headers: { origin: "http://localhost:8080", "access-control-request-method": "POST", "access-control-request-headers": requested },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-allow-headers")).toBe(requested);
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    const response = await post(url("/graphql"), { query: "{ hello }" }, { origin: "http://localhost:8080", "x-prefect-ui": "true", "x-backend": "server" });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.body).toEqual({ data: { hello: "👋" } });
  });

  test("a body over the limit is a 413 with a clear message", async () => {
    const big = { query: "{ hello }", variables: { padding: "x".repeat(5 * 1024 * 1024) } };
    const response = await post(url(), big);
    expect(response.status).toBe(413);
    expect(response.body.errors[0].message).toMatch(/larger than the gateway accepts \(5242880 bytes/);
    // a body just under the limit passes
    const under = await post(url(), { query: "{ hello }", variables: { padding: "x".repeat(4 * 1024 * 1024) } });
    expect(under.status).toBe(200);
  });

  test("GET /health and GET /ready", async () => {
    const health = await fetch(url("/health"));
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    const ready = await fetch(url("/ready"));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { composition: "ok", postgraphile: "ok", mutations: "ok", database: "ok" } });
  });

  test("GET with a query string runs queries", async () => {
    const search = new URLSearchParams({ query: FLOW_BY_PK, variables: JSON.stringify({ id: ids.flow.report }) });
    const response = await fetch(`${url("/graphql")}?${search}`, { headers: { "apollo-require-preflight": "true" } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { flow_by_pk: { name: "report" } } });
  });
});

describe("start-up", () => {
  test("a gateway whose subgraphs are not up yet answers /health, reports not ready and 503s GraphQL", async () => {
    const lonely = await startGatewayOnly({
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL: "http://127.0.0.1:9/graphql",
      PREFECT_SERVER__SERVICES__MUTATIONS__URL: "http://127.0.0.1:9/graphql/",
      DATABASE_URL: stacks.db.url,
    });
    try {
      expect((await fetch(`${lonely.url}/health`)).status).toBe(200);
      const ready = await fetch(`${lonely.url}/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as any;
      expect(body.checks.composition).toBe("not composed yet");
      expect(body.checks.postgraphile).toMatch(/unreachable/);
      const response = await post(`${lonely.url}/`, { query: "{ hello }" });
      expect(response.status).toBe(503);
      expect(response.body.errors[0].extensions.code).toBe("NOT_READY");
    } finally {
      await lonely.stop();
    }
  });
});

describe("no traffic leaves the machine", () => {
  test("starting a gateway and serving requests connects only to loopback addresses", async () => {
    const targets: string[] = [];
    const original = net.Socket.prototype.connect;
    const spy = vi.spyOn(net.Socket.prototype, "connect").mockImplementation(function (this: net.Socket, ...args: any[]) {
      const options = typeof args[0] === "object" && args[0] !== null && !Array.isArray(args[0]) ? args[0] : { port: args[0], host: args[1] };
      targets.push(String(options.path ?? options.host ?? "localhost"));
      return (original as any).apply(this, args);
    });
    try {
      const stack = await startStack("distributed", stacks.db.url);
      await post(`${stack.url}/`, { query: `{ hello flow(limit: 1) { id } }` });
      await new Promise((resolve) => setTimeout(resolve, 500));
      await stack.stop();
    } finally {
      spy.mockRestore();
    }
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((host) => !/^(127\.|localhost$|::1$|\/)/.test(host))).toEqual([]);
  });
});
