// Who gets in and what a browser sees: HTTP basic auth (services.gateway.auth_string) on and off, and the Ruru
// playground served offline from node_modules (on and off).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { basicAuthCheck } from "../../services/shared/src/basic_auth.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "../postgraphile/seed.ts";
import { expectPlaygroundOffline, post, startStack, type Stack } from "./helpers.ts";

const db = useTestDatabase();
let open: Stack;
let locked: Stack;
let noPlayground: Stack;

beforeAll(async () => {
  await seed(db.pool);
  open = await startStack("in_process", db.url);
  locked = await startStack("in_process", db.url, { PREFECT_SERVER_API_AUTH_STRING: "admin:s3cret:with-colon" });
  noPlayground = await startStack("in_process", db.url, { APOLLO_API_ENABLE_PLAYGROUND: "false" });
});

afterAll(async () => {
  await open?.stop();
  await locked?.stop();
  await noPlayground?.stop();
});

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString("base64")}`;

describe("basic auth", () => {
  test("unset: no credentials needed", async () => {
    expect((await post(`${open.url}/`, { query: "{ hello }" })).body).toEqual({ data: { hello: "👋" } });
    expect((await fetch(`${open.url}/ready`)).status).toBe(200);
  });

  test.each([
    ["no credentials", undefined],
    ["a wrong password", basic("admin:wrong")],
    ["a wrong user", basic("root:s3cret:with-colon")],
    ["a prefix of the credentials", basic("admin:s3cret")],
    ["a bearer token", "Bearer admin:s3cret:with-colon"],
    ["a malformed header", "Basic !!!"],
  ])("set: %s is a 401 with a WWW-Authenticate challenge", async (_what, authorization) => {
    const response = await post(`${locked.url}/graphql`, { query: "{ hello }" }, authorization ? { authorization } : {});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Basic realm="Prefect Server", charset="UTF-8"');
    expect(response.body.errors[0].extensions.code).toBe("UNAUTHENTICATED");
    expect(response.body.errors[0].message).toMatch(/UNAUTHENTICATED/); // what Core looks for
  });

  test("set: the right credentials pass, on GraphQL, /ready and the playground", async () => {
    const authorization = basic("admin:s3cret:with-colon");
    expect((await post(`${locked.url}/`, { query: "{ hello }" }, { authorization })).body).toEqual({ data: { hello: "👋" } });
    expect((await post(`${locked.url}/`, [{ query: "{ hello }" }], { authorization: authorization.replace("Basic", "basic") })).status).toBe(200);
    expect((await fetch(`${locked.url}/ready`, { headers: { authorization } })).status).toBe(200);
    expect((await fetch(`${locked.url}/ready`)).status).toBe(401);
    expect((await fetch(`${locked.url}/`, { headers: { accept: "text/html" } })).status).toBe(401);
    expect((await fetch(`${locked.url}/`, { headers: { accept: "text/html", authorization } })).status).toBe(200);
  });

  test("set: /health and CORS preflights need no credentials", async () => {
    expect((await fetch(`${locked.url}/health`)).status).toBe(200);
    const preflight = await fetch(`${locked.url}/graphql`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:8080", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
  });

  test("the check itself", () => {
    expect(basicAuthCheck("")).toBeNull();
    const check = basicAuthCheck("user:pass")!;
    expect(check(basic("user:pass"))).toBe(true);
    expect(check(`  BASIC ${Buffer.from("user:pass").toString("base64")} `)).toBe(true);
    expect(check(basic("user:pass "))).toBe(false);
    expect(check(basic(""))).toBe(false);
    expect(check(undefined)).toBe(false);
    expect(check("")).toBe(false);
  });
});

describe("playground", () => {
  test.each(["/", "/graphql"])("GET %s with Accept: text/html serves Ruru pointing at that path", async (path) => {
    const response = await fetch(`${open.url}${path}`, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain(`"endpoint": "${path}"`);
    expect(html).toContain("/ruru-static/ruru.js");
  });

  test("it works offline: everything the page loads comes from this server, and nothing it loads fetches from elsewhere", async () => {
    await expectPlaygroundOffline(open.url, "/");
  });

  test("GET without Accept: text/html is a GraphQL GET, not the page", async () => {
    const response = await fetch(`${open.url}/graphql?query=${encodeURIComponent("{ hello }")}`);
    expect(await response.json()).toEqual({ data: { hello: "👋" } });
  });

  test("enable_playground=false turns it off (404), GraphQL still answers", async () => {
    const page = await fetch(`${noPlayground.url}/`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(404);
    expect((await fetch(`${noPlayground.url}/ruru-static/ruru.js`)).status).toBe(404);
    expect((await post(`${noPlayground.url}/`, { query: "{ hello }" })).body).toEqual({ data: { hello: "👋" } });
  });
});
