// GET /metrics of the API services (docs/operations.md, "Metrics"): the gateway counts each operation under its name
// (or its root fields), with a latency histogram, its errors by code and its HTTP answers by status, and its calls to
// each subgraph; the data graph and the mutations service count their own operations and serve their own /metrics,
// with their pools. Operation labels are capped. With an auth string set every /metrics asks for the basic
// credentials (the subgraphs' too, instead of the gateway's secret); with metrics off there is no /metrics and
// nothing is recorded.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { INTERNAL_SECRET_HEADER, internalSecret } from "../../services/shared/src/internal_auth.ts";
import { MAX_LABEL_LENGTH, MAX_OPERATIONS, OTHER, processMetricsText } from "../../services/shared/src/metrics.ts";
import { post, startStack, type Stack } from "../gateway/helpers.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { parseMetrics, samples, scrape, value, type Sample } from "../helpers/metrics.ts";
import { ids, seed } from "../postgraphile/seed.ts";

const AUTH = "admin:metrics-s3cret";
const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString("base64")}`;

const db = useTestDatabase();
let stack: Stack;
let locked: Stack;
let disabled: Stack;

beforeAll(async () => {
  await seed(db.pool);
  stack = await startStack("distributed", db.url);
  locked = await startStack("distributed", db.url, { PREFECT_SERVER_API_AUTH_STRING: AUTH });
  disabled = await startStack("in_process", db.url, { PREFECT_SERVER__SERVICES__METRICS__ENABLED: "false" });
});

afterAll(async () => {
  await stack?.stop();
  await locked?.stop();
  await disabled?.stop();
});

const dataGraphOrigin = (of: Stack) => `http://127.0.0.1:${of.dataGraph!.address.port}`;
const mutationsOrigin = (of: Stack) => `http://127.0.0.1:${(of.mutations!.http.address() as AddressInfo).port}`;

const DURATION = "prefect_server_graphql_operation_duration_seconds";
const count = (all: Sample[], service: string, operation: string) => value(all, `${DURATION}_count`, { service, operation }) ?? 0;
const errors = (all: Sample[], labels: Record<string, string>) => value(all, "prefect_server_graphql_errors_total", labels) ?? 0;

describe("the gateway", () => {
  test("counts an operation under its name and an anonymous one under its root fields, each with a latency histogram", async () => {
    const before = await scrape(stack.url);
    for (let i = 0; i < 3; i++) expect((await post(`${stack.url}/graphql`, { query: "query MetricsNamed { hello }" })).status).toBe(200);
    // root fields of both subgraphs: the planner answers it
    const anonymous = await post(`${stack.url}/`, { query: `{ flow_by_pk(id: "${ids.flow.report}") { name } hello }` });
    expect(anonymous.body.data).toEqual({ flow_by_pk: { name: "report" }, hello: "👋" });
    const after = await scrape(stack.url);
    expect(count(after, "gateway", "MetricsNamed")).toBe(3);
    expect(value(after, `${DURATION}_bucket`, { service: "gateway", operation: "MetricsNamed", le: "+Inf" })).toBe(3);
    expect(value(after, `${DURATION}_sum`, { service: "gateway", operation: "MetricsNamed" })).toBeGreaterThan(0);
    expect(count(after, "gateway", "flow_by_pk,hello") - count(before, "gateway", "flow_by_pk,hello")).toBe(1);
  });

  test("counts errors by their code, and HTTP answers by status", async () => {
    const before = await scrape(stack.url);
    const invalid = await post(`${stack.url}/graphql`, { query: "{ no_such_field }" });
    expect(invalid.status).toBe(400);
    const code = invalid.body.errors[0].extensions.code as string;
    const refused = await post(`${stack.url}/graphql`, { query: `mutation { create_flow_run(input: {flow_id: "${ids.missing}"}) { id } }` });
    const refusal = refused.body.errors[0].extensions.code as string;
    expect((await fetch(`${stack.url}/graphql`, { method: "POST", body: "{}" })).status).toBe(415);
    const after = await scrape(stack.url);
    expect(errors(after, { service: "gateway", operation: "(invalid)", code }) - errors(before, { service: "gateway", operation: "(invalid)", code })).toBe(1);
    expect(errors(after, { service: "gateway", operation: "create_flow_run", code: refusal }) - errors(before, { service: "gateway", operation: "create_flow_run", code: refusal })).toBe(1);
    const status = (all: Sample[], code: string) => value(all, "prefect_server_http_responses_total", { service: "gateway", status: code }) ?? 0;
    expect(status(after, "400") - status(before, "400")).toBe(1);
    expect(status(after, "415") - status(before, "415")).toBe(1);
    expect(status(after, "200") - status(before, "200")).toBeGreaterThanOrEqual(2); // the mutation, the first scrape
  });

  test("times its calls to each subgraph", async () => {
    const calls = (all: Sample[], subgraph: string) => value(all, "prefect_server_gateway_subgraph_request_duration_seconds_count", { subgraph }) ?? 0;
    const before = await scrape(stack.url);
    await post(`${stack.url}/`, { query: `{ flow_by_pk(id: "${ids.flow.report}") { name } }` });
    await post(`${stack.url}/`, { query: "{ hello }" });
    const after = await scrape(stack.url);
    expect(calls(after, "postgraphile") - calls(before, "postgraphile")).toBe(1);
    expect(calls(after, "mutations") - calls(before, "mutations")).toBe(1);
    expect(samples(after, "prefect_server_gateway_subgraph_request_failures_total")).toEqual([]);
  });

  test("keeps at most MAX_OPERATIONS operation labels (further ones count as OTHER), each at most MAX_LABEL_LENGTH long", async () => {
    const gateway = await startStack("in_process", db.url);
    try {
      const names = Array.from({ length: MAX_OPERATIONS + 50 }, (_, i) => `Flood${i}`);
      for (let start = 0; start < names.length; start += 50) {
        const batch = names.slice(start, start + 50).map((name) => ({ query: `query ${name} { hello }` }));
        expect((await post(`${gateway.url}/graphql`, batch)).status).toBe(200);
      }
      const long = `Long${"x".repeat(300)}`;
      await post(`${gateway.url}/graphql`, { query: `query ${long} { hello }` });
      const after = await scrape(gateway.url);
      const flooded = samples(after, `${DURATION}_count`, { service: "gateway" }).filter((sample) => sample.labels.operation!.startsWith("Flood"));
      // this gateway's first operations were its own probes and the flood; every later one is OTHER
      expect(flooded.length).toBeLessThanOrEqual(MAX_OPERATIONS);
      expect(flooded.length).toBeGreaterThan(MAX_OPERATIONS - 10);
      expect(count(after, "gateway", OTHER)).toBeGreaterThanOrEqual(names.length - flooded.length + 1);
      const labels = new Set(samples(after, `${DURATION}_count`).map((sample) => sample.labels.operation!));
      expect([...labels].every((label) => label.length <= MAX_LABEL_LENGTH)).toBe(true);
    } finally {
      await gateway.stop();
    }
  });

  test("POST /metrics is still GraphQL, as on every path", async () => {
    const answer = await post(`${stack.url}/metrics`, { query: "{ hello }" });
    expect(answer.body).toEqual({ data: { hello: "👋" } });
  });
});

describe("the subgraphs", () => {
  test("the data graph and the mutations service count their own operations and pools on their own /metrics", async () => {
    await post(`${stack.url}/`, { query: `query DataGraphNamed { flow_by_pk(id: "${ids.flow.report}") { name } }` });
    await post(`${stack.url}/`, { query: "query MutationsNamed { hello }" });
    const dataGraph = await scrape(dataGraphOrigin(stack));
    expect(count(dataGraph, "postgraphile", "DataGraphNamed")).toBe(1);
    expect(value(dataGraph, "prefect_server_db_pool_max_connections", { pool: "postgraphile" })).toBeGreaterThan(0);
    expect(samples(dataGraph, "prefect_server_db_pool_connections", { pool: "postgraphile" }).map((s) => s.labels.state).sort()).toEqual(["idle", "in_use"]);
    expect(value(dataGraph, "prefect_server_db_pool_waiting", { pool: "postgraphile" })).toBe(0);
    expect(samples(dataGraph, "process_cpu_seconds_total")).toHaveLength(1);
    const mutations = await scrape(mutationsOrigin(stack));
    expect(count(mutations, "mutations", "MutationsNamed")).toBe(1);
  });

  test("the mutations service counts its errors under the code its client sees", async () => {
    const before = await scrape(mutationsOrigin(stack));
    const code = (await post(`${stack.url}/`, { query: `mutation { create_flow_run(input: {flow_id: "${ids.missing}"}) { id } }` })).body.errors[0].extensions.code;
    const after = await scrape(mutationsOrigin(stack));
    const labels = { service: "mutations", operation: "create_flow_run", code };
    expect(errors(after, labels) - errors(before, labels)).toBe(1);
  });
});

describe("with an auth string set", () => {
  test("the gateway's /metrics needs the basic credentials", async () => {
    expect((await fetch(`${locked.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${locked.url}/metrics`, { headers: { authorization: basic("admin:wrong") } })).status).toBe(401);
    const refused = await fetch(`${locked.url}/metrics`);
    expect(refused.headers.get("www-authenticate")).toMatch(/^Basic /);
    await expect(scrape(locked.url, { authorization: basic(AUTH) })).resolves.not.toEqual([]);
  });

  test("so do the subgraphs' (the gateway's secret does not open them; their GraphQL still answers only the gateway)", async () => {
    for (const origin of [dataGraphOrigin(locked), mutationsOrigin(locked)]) {
      expect((await fetch(`${origin}/metrics`)).status).toBe(401);
      expect((await fetch(`${origin}/metrics`, { headers: { [INTERNAL_SECRET_HEADER]: internalSecret(AUTH)! } })).status).toBe(401);
      await expect(scrape(origin, { authorization: basic(AUTH) })).resolves.not.toEqual([]);
    }
    expect((await post(`${dataGraphOrigin(locked)}/graphql`, { query: "{ tenant { id } }" }, { authorization: basic(AUTH) })).status).toBe(401);
  });
});

describe("with metrics off", () => {
  test("there is no /metrics, and the gateway's operations are not recorded", async () => {
    expect((await fetch(`${disabled.url}/metrics`)).status).toBe(404);
    expect((await post(`${disabled.url}/graphql`, { query: "query NotRecorded { hello }" })).status).toBe(200);
    const all = parseMetrics(await processMetricsText());
    expect(samples(all, `${DURATION}_count`).filter((sample) => sample.labels.operation === "NotRecorded")).toEqual([]);
  });
});
