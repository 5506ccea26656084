// The service itself: HTTP wiring, scalars, error mapping, hello/api/reference_data (acceptance check 61).
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { normaliseDateTime, normaliseUuid } from "../../services/domain/src/inputs.ts";
import { createTenant, useMutations } from "./helpers.ts";

const h = useMutations();
let base = "";

beforeAll(async () => {
  const address = await h.service.listen(0, "127.0.0.1");
  base = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await h.service.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("HTTP", () => {
  test("GET /health answers ok with the version", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; version: string };
    expect(body.status).toBe("ok");
    expect(body.version).toMatch(/\S/);
  });

  test.each(["/graphql/", "/graphql"])("GraphQL is served at %s", async (path) => {
    const response = await post(path, { query: "{ hello }" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { hello: "👋" } });
  });

  test("Core's string-encoded variables (and \"null\") are accepted", async () => {
    const tenantId = await createTenant(h);
    const query = "mutation($input: create_project_input!) { create_project(input: $input) { id } }";
    const response = await post("/graphql/", { query, variables: JSON.stringify({ input: { tenant_id: tenantId, name: "p" } }) });
    const body = (await response.json()) as { data: { create_project: { id: string } } };
    expect(body.data.create_project.id).toMatch(/^[0-9a-f-]{36}$/);
    const none = await post("/graphql/", { query: "{ hello }", variables: "null" });
    expect(await none.json()).toEqual({ data: { hello: "👋" } });
  });

  test("execution errors come back as HTTP 200 with v1's text", async () => {
    const response = await post("/graphql/", {
      query: 'mutation { create_tenant(input: {name: "x", slug: "not a slug"}) { id } }',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: unknown; errors: { message: string }[] };
    expect(body.data).toEqual({ create_tenant: null });
    expect(body.errors[0]!.message).toBe('Slug must be "slugified" (lowercase; no spaces)');
    expect(JSON.stringify(body.errors)).not.toContain("API_ERROR");
  });

  test("a batch (array body) gets an array of results", async () => {
    const response = await post("/graphql", [{ query: "{ hello }" }, { query: "{ api { mode } }" }]);
    expect(await response.json()).toEqual([{ data: { hello: "👋" } }, { data: { api: { mode: "normal" } } }]);
  });

  test("x-prefect headers are read whatever their case", async () => {
    const tenantId = await createTenant(h);
    const query = `mutation($input: register_agent_input!) { register_agent(input: $input) { id } }`;
    const response = await post("/graphql/", { query, variables: { input: { tenant_id: tenantId, type: "LocalAgent" } } }, { "X-Prefect-Core-Version": "1.4.1" });
    const { data } = (await response.json()) as { data: { register_agent: { id: string } } };
    const { rows } = await h.db.query("SELECT core_version FROM agent WHERE id = $1", [data.register_agent.id]);
    expect(rows[0].core_version).toBe("1.4.1");
  });

  test("unknown paths are 404", async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("scalars", () => {
  test("UUID accepts Python's forms and normalises to lowercase", () => {
    expect(normaliseUuid("6A1E3F2C-0B9D-4C8E-9F7A-1B2C3D4E5F60")).toBe("6a1e3f2c-0b9d-4c8e-9f7a-1b2c3d4e5f60");
    expect(normaliseUuid("6a1e3f2c0b9d4c8e9f7a1b2c3d4e5f60")).toBe("6a1e3f2c-0b9d-4c8e-9f7a-1b2c3d4e5f60");
    expect(normaliseUuid("{6a1e3f2c-0b9d-4c8e-9f7a-1b2c3d4e5f60}")).toBe("6a1e3f2c-0b9d-4c8e-9f7a-1b2c3d4e5f60");
    expect(normaliseUuid("not-a-uuid")).toBeUndefined();
  });

  test("an invalid UUID is rejected with v1's text", async () => {
    const message = await h.error('{ get_task_run_info(task_run_id: "abc") { id } }');
    expect(message).toContain("Could not parse UUID: abc");
  });

  test("DateTime reads offsets, Z, microseconds, dates and naive UTC", () => {
    expect(normaliseDateTime("2020-01-01T10:00:00.123456+02:00")).toBe("2020-01-01T10:00:00.123456+02:00");
    expect(normaliseDateTime("2020-01-01T10:00:00Z")).toBe("2020-01-01T10:00:00.000000+00:00");
    expect(normaliseDateTime("2020-01-01")).toBe("2020-01-01T00:00:00.000000+00:00");
    expect(normaliseDateTime("2020-01-01 10:00")).toBe("2020-01-01T10:00:00.000000+00:00");
    expect(normaliseDateTime("2020-02-30T00:00:00")).toBeUndefined();
    expect(normaliseDateTime("yesterday")).toBeUndefined();
  });

  test("an inline JSON literal is a string holding JSON", async () => {
    const tenantId = await createTenant(h);
    await h.ok(`mutation { update_tenant_settings(input: {tenant_id: "${tenantId}", settings: "{\\"a\\": 1}"}) { id } }`);
    const { rows } = await h.db.query("SELECT settings FROM tenant WHERE id = $1", [tenantId]);
    expect(rows[0].settings).toEqual({ a: 1 });
  });
});

describe("queries", () => {
  test("check 61: api is SERVER/normal and the hierarchy has Core's subclasses", async () => {
    const data = await h.ok("{ api { backend mode version core_version release_timestamp } reference_data { state_hierarchy state_info } }");
    expect(data.api).toMatchObject({ backend: "SERVER", mode: "normal" });
    expect(new Set(data.reference_data.state_hierarchy.Success)).toEqual(new Set(["Success", "Skipped", "Mapped", "Cached"]));
    expect(data.reference_data.state_hierarchy.State).toHaveLength(23);
    expect(data.reference_data.state_hierarchy._MetaState).toEqual(["_MetaState", "Submitted", "Queued", "ClientFailed"]);
    expect(data.reference_data.state_info.Failed).toEqual({ color: "#eb0000" });
    expect(data.reference_data.state_info._MetaState).toEqual({ color: "#696969" });
  });

  test("a Postgres unique violation is reported as v1's text", async () => {
    const tenantId = await createTenant(h);
    const query = `mutation($input: create_project_input!) { create_project(input: $input) { id } }`;
    await h.ok(query, { input: { tenant_id: tenantId, name: "dup" } });
    const result = await h.gql(query, { input: { tenant_id: tenantId, name: "dup" } });
    expect(result.data).toEqual({ create_project: null });
    expect(result.errors![0]!.message).toBe("Uniqueness violation.");
  });
});
