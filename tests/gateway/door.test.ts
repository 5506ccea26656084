// One door: with an auth string set, the gateway is the only way in. The data graph and the mutations service
// answer only requests carrying the secret the gateway adds (derived from the auth string), on every path but
// GET /health, so neither port gets around the gateway's basic auth; and both listen on loopback by default. Their
// playground pages, like the gateway's, load nothing from elsewhere.
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../services/shared/src/config.ts";
import { INTERNAL_SECRET_HEADER, internalSecret } from "../../services/shared/src/internal_auth.ts";
import { remoteSubgraph } from "../../services/gateway/src/subgraphs.ts";
import { start as startDataGraph } from "../../services/postgraphile/src/index.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "../postgraphile/seed.ts";
import { expectPlaygroundOffline, log, post, startStack, type Stack } from "./helpers.ts";

const AUTH = "admin:door-s3cret";
const db = useTestDatabase();
let stack: Stack;

beforeAll(async () => {
  await seed(db.pool);
  stack = await startStack("distributed", db.url, { PREFECT_SERVER_API_AUTH_STRING: AUTH });
});
afterAll(async () => {
  await stack?.stop();
});

const basic = `Basic ${Buffer.from(AUTH).toString("base64")}`;
const dataGraphUrl = () => `http://127.0.0.1:${stack.dataGraph!.address.port}`;
const mutationsUrl = () => `http://127.0.0.1:${(stack.mutations!.http.address() as AddressInfo).port}`;
const tenants = async () => Number((await db.pool.query("select count(*) from tenant")).rows[0].count);

describe("with an auth string set", () => {
  test("through the gateway: credentials needed, and with them both subgraphs answer", async () => {
    expect((await post(`${stack.url}/graphql`, { query: "{ tenant { id } }" })).status).toBe(401);
    const answer = await post(`${stack.url}/graphql`, { query: "{ hello tenant(limit: 1) { id } }" }, { authorization: basic });
    expect(answer.status).toBe(200);
    expect(answer.body.data.hello).toBe("👋");
    expect(answer.body.data.tenant).toHaveLength(1);
  });

  test.each([
    ["the data graph", () => `${dataGraphUrl()}/graphql`, "{ tenant { id name } }"],
    ["the data graph's v1 path", () => `${dataGraphUrl()}/v1alpha1/graphql`, "{ flow_run { id } }"],
    ["the mutations service", () => `${mutationsUrl()}/graphql/`, 'mutation { create_tenant(input: {name: "intruder", slug: "intruder"}) { id } }'],
  ])("%s refuses a request without the gateway's secret, with the gateway's credentials, or with a wrong secret", async (_name, url, query) => {
    const before = await tenants();
    const attempts: Record<string, string>[] = [{}, { authorization: basic }, { [INTERNAL_SECRET_HEADER]: "guess" }, { [INTERNAL_SECRET_HEADER]: internalSecret("admin:other")! }];
    for (const headers of attempts) {
      const response = await post(url(), { query }, headers);
      expect(response.status).toBe(401);
      expect(response.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
      expect(response.body.errors[0].message).toMatch(/answers only the gateway while an auth string is set \(services\.gateway\.auth_string\)/);
      expect(JSON.stringify(response.body)).not.toMatch(/tenant|flow_run|intruder/);
    }
    const get = await fetch(`${url()}?query=${encodeURIComponent("{ __typename }")}`);
    expect(get.status).toBe(401);
    expect(await tenants()).toBe(before);
  });

  test("the subgraphs' health checks stay open (compose and Kubernetes probes)", async () => {
    expect((await fetch(`${dataGraphUrl()}/health`)).status).toBe(200);
    expect((await fetch(`${mutationsUrl()}/health`)).status).toBe(200);
  });

  test("a gateway given another auth string is refused, which its readiness check reports", async () => {
    const subgraph = (authString: string) =>
      remoteSubgraph({ name: "postgraphile", url: `${dataGraphUrl()}/graphql`, timeoutMs: 5000, internalSecret: internalSecret(authString) });
    const [right, wrong] = [subgraph(AUTH), subgraph("admin:other")];
    try {
      await expect(right.ping()).resolves.toBeUndefined();
      await expect(wrong.ping()).rejects.toThrow(/^UNAUTHENTICATED: the data graph answers only the gateway/);
    } finally {
      await Promise.all([right.close(), wrong.close()]);
    }
  });

  test("the secret is not the auth string itself; without an auth string there is none", () => {
    expect(internalSecret(AUTH)).not.toContain(AUTH);
    expect(internalSecret("")).toBeUndefined();
  });
});

test("the subgraphs listen on loopback unless told otherwise; the gateway where services.host says", async () => {
  const config = loadConfig({ env: { DATABASE_URL: db.url, PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0", PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "1" }, ignoreUserFile: true });
  expect(config.services.postgraphile.host).toBe("127.0.0.1");
  expect(config.services.mutations.host).toBe("127.0.0.1");
  expect(config.services.gateway.host).toBe("0.0.0.0");
  const dataGraph = await startDataGraph(config, log);
  try {
    expect(dataGraph.address.address).toBe("127.0.0.1");
  } finally {
    await dataGraph.stop();
  }
});

describe("the subgraphs' own pages, without an auth string", () => {
  let open: Stack;
  beforeAll(async () => {
    open = await startStack("distributed", db.url);
  });
  afterAll(async () => {
    await open?.stop();
  });

  test.each([
    ["the data graph", () => `http://127.0.0.1:${open.dataGraph!.address.port}`, "/graphql"],
    ["the mutations service", () => `http://127.0.0.1:${(open.mutations!.http.address() as AddressInfo).port}`, "/graphql/"],
  ])("%s serves the playground offline, as the gateway does", async (_name, base, path) => {
    await expectPlaygroundOffline(base(), path);
  });
});
