// The service over HTTP: start(config, log), /health, both GraphQL paths, error status and masking, stop(); in
// cluster mode (services.postgraphile.workers, 2 by default) and in one process.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pino } from "pino";
import { loadConfig } from "../../services/shared/src/config.ts";
import { start, type RunningDataGraph } from "../../services/postgraphile/src/index.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { isAlive } from "../helpers/pids.ts";
import { waitFor } from "../helpers/wait.ts";
import { ids, seed } from "./seed.ts";

const db = useTestDatabase();
let service: RunningDataGraph;
let withMutations: RunningDataGraph;
let base: string;

const startService = (env: Record<string, string> = {}) =>
  start(
    loadConfig({
      env: {
        DATABASE_URL: db.url,
        PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0",
        PREFECT_SERVER__SERVICES__POSTGRAPHILE__HOST: "127.0.0.1",
        PREFECT_SERVER__LOGGING__LEVEL: "silent", // the workers log from the configuration
        ...env,
      },
      ignoreUserFile: true,
    }),
    pino({ level: "silent" }),
  );

beforeAll(async () => {
  await seed(db.pool);
  service = await startService();
  withMutations = await startService({ PREFECT_SERVER__SERVICES__POSTGRAPHILE__ENABLE_TABLE_MUTATIONS: "true", PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "1" });
  base = `http://127.0.0.1:${service.address.port}`;
});

afterAll(async () => {
  await service?.stop();
  await withMutations?.stop();
});

const post = (path: string, body: unknown, accept = "application/json", to = base) =>
  fetch(`${to}${path}`, { method: "POST", headers: { "content-type": "application/json", accept }, body: JSON.stringify(body) });

describe("postgraphile service", () => {
  test("GET /health answers 200 {status: ok}", async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test.each(["/graphql", "/v1alpha1/graphql"])("POST %s runs GraphQL", async (path) => {
    const response = await post(path, { query: `query($id: uuid!) { flow_by_pk(id: $id) { name } }`, variables: { id: ids.flow.report } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { flow_by_pk: { name: "report" } } });
  });

  test("an execution error is HTTP 200 with errors[].message", async () => {
    const response = await post("/graphql", { query: `{ flow(where: {created: {_gt: "not a time"}}) { id } }` });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toMatch(/Could not parse timestamptz: "not a time"/);
    expect(JSON.stringify(body)).not.toMatch(/select|from "public"/i);
  });

  test("distinct_on that does not lead order_by is a clear error", async () => {
    const response = await post("/graphql", { query: `{ flow(distinct_on: name, order_by: {version: asc}) { id } }` });
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0]!.message).toBe('"distinct_on" columns must match initial "order_by" columns');
  });

  test("_service { sdl } is served for the gateway", async () => {
    const response = await post("/graphql", { query: `{ _service { sdl } }` });
    const body = (await response.json()) as { data: { _service: { sdl: string } } };
    expect(body.data._service.sdl).toContain("flow_run_aggregate(");
  });

  test("table mutations are off by default", async () => {
    const response = await post("/graphql", { query: `mutation { insert_project(objects: []) { affected_rows } }` });
    expect(await response.json()).toEqual({ errors: [expect.objectContaining({ message: "Schema is not configured to execute mutation operation." })] });
  });

  test("with enable_table_mutations, a request's mutations are one transaction and errors read as Hasura's", async () => {
    const url = `http://127.0.0.1:${withMutations.address.port}`;
    const insert = (alias: string, name: string) => `${alias}: insert_project_one(object: {tenant_id: "${ids.tenant.alpha}", name: "${name}"}) { name }`;
    const failed = await post("/v1alpha1/graphql", { query: `mutation { ${insert("a", "http-1")} ${insert("b", "http-1")} }` }, "application/json", url);
    expect(failed.status).toBe(200);
    expect(await failed.json()).toEqual({
      data: null,
      errors: [expect.objectContaining({ message: "Uniqueness violation. A row with the same values already exists (constraint project_tenant_id_name_key of project).", extensions: { code: "constraint-violation" } })],
    });
    const ok = await post("/graphql", { query: `mutation { ${insert("a", "http-1")} ${insert("b", "http-2")} }` }, "application/json", url);
    expect(await ok.json()).toEqual({ data: { a: { name: "http-1" }, b: { name: "http-2" } } });
    expect((await db.pool.query(`select count(*)::int as n from project where name like 'http-%'`)).rows[0]).toEqual({ n: 2 });
  });

  test("an unknown path is 404", async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("cluster mode", () => {
  test("runs services.postgraphile.workers processes; one mode runs none", () => {
    expect(service.workers()).toHaveLength(2);
    expect(service.workers().every(isAlive)).toBe(true);
    expect(withMutations.workers()).toEqual([]);
  });

  test("concurrent requests on new connections all get their answer", async () => {
    const query = { query: `query($id: uuid!) { flow_by_pk(id: $id) { name } }`, variables: { id: ids.flow.report } };
    // keep-alive off: each request is a connection of its own, which the primary hands to the next worker
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json", connection: "close" }, body: JSON.stringify(query) }).then((r) => r.json()),
      ),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, () => ({ data: { flow_by_pk: { name: "report" } } })));
  });

  test("a worker that dies is replaced, and the service keeps answering", async () => {
    const [victim, survivor] = service.workers();
    process.kill(victim!, "SIGKILL");
    await waitFor("a replacement worker", () => service.workers().length === 2 && !service.workers().includes(victim!), 20_000);
    expect(service.workers()).toContain(survivor);
    const response = await post("/graphql", { query: `{ flow(where: {name: {_eq: "report"}}) { name } }` });
    expect(await response.json()).toEqual({ data: { flow: [{ name: "report" }] } });
  });

  test("a worker that cannot start fails start-up with the reason, and leaves no worker behind", async () => {
    const before = new Set(await childPids());
    await expect(startService({ DATABASE_URL: db.url.replace(/\/[^/]*$/, "/prefect_no_such_database") })).rejects.toThrow(
      'database "prefect_no_such_database" does not exist',
    );
    await waitFor("the failed workers to exit", async () => (await childPids()).every((pid) => before.has(pid)), 20_000);
  });

  test("stop() ends every worker", async () => {
    const cluster = await startService();
    const pids = cluster.workers();
    expect(pids).toHaveLength(2);
    await cluster.stop();
    await waitFor("the workers to exit", () => !pids.some(isAlive), 20_000);
    await expect(fetch(`http://127.0.0.1:${cluster.address.port}/health`)).rejects.toThrow();
  });
});

/** This process's child processes. */
async function childPids(): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid === process.pid) pids.push(Number(entry));
  }
  return pids;
}

