/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Start-up and recovery with real processes, as `make dev` and compose run them: postgraphile, mutations and the
// gateway each started as `node bin/prefect-server.js services <name>`. The gateway is started first and comes up
// once its subgraphs do; a subgraph killed with SIGKILL makes the operations it serves fail with a GraphQL error
// while the gateway stays up (alive, not ready) and keeps serving the other subgraph; restarted, it is answered
// again. Every wait is a bounded poll that says what it was waiting for.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startCli, type CliRun } from "../cli/run.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { freePort } from "../helpers/ports.ts";
import { post } from "./helpers.ts";

const db = useTestDatabase();
const REDIS_URL = process.env.PREFECT_SERVER_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const WAIT_MS = 60_000;

type Name = "postgraphile" | "mutations" | "gateway";
const children = new Set<CliRun>();
let env: Record<string, string>;

beforeAll(async () => {
  const [postgraphile, mutations] = [await freePort(), await freePort()];
  env = {
    DATABASE_URL: db.url,
    PREFECT_SERVER__DATABASE__POOL_SIZE: "3",
    REDIS_URL,
    PREFECT_SERVER__QUEUE__PREFIX: `prefect-test-recovery-${process.pid}-${randomBytes(3).toString("hex")}`,
    PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
    PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: String(postgraphile),
    PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL: `http://127.0.0.1:${postgraphile}/graphql`,
    PREFECT_SERVER__SERVICES__MUTATIONS__PORT: String(mutations),
    PREFECT_SERVER__SERVICES__MUTATIONS__URL: `http://127.0.0.1:${mutations}/graphql/`,
    // port 0: the gateway reports the port it bound in its "gateway listening" line
    PREFECT_SERVER__SERVICES__GATEWAY__PORT: "0",
    PREFECT_SERVER__SERVICES__GATEWAY__POLL_INTERVAL_SECONDS: "1",
    PREFECT_SERVER__LOGGING__LEVEL: "info",
  };
});

afterAll(async () => {
  for (const child of children) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill("SIGKILL");
  await Promise.all([...children].map((child) => child.exited));
});

function startService(name: Name): CliRun {
  const run = startCli(["services", name], env);
  children.add(run);
  return run;
}

async function kill(run: CliRun): Promise<void> {
  run.child.kill("SIGKILL");
  await run.exited;
  children.delete(run);
}

/** Polls `probe` until it returns a value other than undefined; fails after WAIT_MS naming `what` and the last try. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = "not yet";
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${WAIT_MS / 1000} s waiting for ${what}; last: ${String(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const TENANTS = `{ tenant(order_by: {slug: asc}) { slug } }`;
const HELLO = `{ hello }`;

test(
  "the gateway comes up after its subgraphs, survives a killed subgraph, and recovers when it is back",
  { timeout: 240_000 },
  async () => {
    await db.pool.query("insert into tenant (name, slug) values ('Recovery', 'recovery')");

    // The gateway first, with no subgraph up: alive, not ready.
    const gateway = startService("gateway");
    const listening = /"port":(\d+)[^\n]*"msg":"gateway listening"/;
    await gateway.waitFor(listening, WAIT_MS);
    const port = Number(listening.exec(gateway.stdout)?.[1]);
    expect(port).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(503);

    // Then the subgraphs: the gateway composes them by itself and answers.
    const subgraphs: Record<"postgraphile" | "mutations", CliRun> = { postgraphile: startService("postgraphile"), mutations: startService("mutations") };
    await waitFor("the gateway to be ready once both subgraphs are up", async () => ((await fetch(`${url}/ready`)).status === 200 ? true : undefined));
    expect(await post(url, { query: TENANTS })).toMatchObject({ status: 200, body: { data: { tenant: [{ slug: "recovery" }] } } });
    expect(await post(url, { query: HELLO })).toMatchObject({ status: 200, body: { data: { hello: "👋" } } });

    // postgraphile killed outright: its operations fail with a GraphQL error, the gateway stays up.
    await kill(subgraphs.postgraphile);
    const failed = await waitFor("an operation of the killed subgraph to fail", async () => {
      const response = await post(url, { query: TENANTS });
      return response.body.errors ? response : undefined;
    });
    expect(failed).toMatchObject({ status: 200, body: { data: null } });
    expect(failed.body.errors).toEqual([
      { message: expect.stringMatching(/^Subgraph "postgraphile" at \S+ is unreachable/), extensions: { code: "INTERNAL_SERVER_ERROR" } },
    ]);
    // a query across both subgraphs (the planner's path) fails the same way, without a 5xx
    const planned = await post(url, { query: `{ hello tenant { slug } }` });
    expect(planned).toMatchObject({ status: 200, body: { data: null } });
    expect(planned.body.errors).toEqual(failed.body.errors);
    // the other subgraph is still served
    expect(await post(url, { query: HELLO })).toMatchObject({ status: 200, body: { data: { hello: "👋" } } });
    expect(gateway.child.exitCode).toBeNull();
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as any).checks).toMatchObject({ composition: "ok", mutations: "ok", database: "ok", postgraphile: expect.stringMatching(/unreachable/) });

    // Restarted on its port: answered again, and ready.
    subgraphs.postgraphile = startService("postgraphile");
    const recovered = await waitFor("the gateway to answer a postgraphile query again", async () => {
      const response = await post(url, { query: TENANTS });
      return response.body.errors ? undefined : response;
    });
    expect(recovered).toMatchObject({ status: 200, body: { data: { tenant: [{ slug: "recovery" }] } } });
    expect(await post(url, { query: `{ hello tenant { slug } }` })).toMatchObject({ status: 200, body: { data: { hello: "👋", tenant: [{ slug: "recovery" }] } } });
    await waitFor("the gateway to be ready again", async () => ((await fetch(`${url}/ready`)).status === 200 ? true : undefined));
    expect(gateway.child.exitCode).toBeNull();
    expect(gateway.stdout).not.toMatch(/"level":(50|60)/); // no error or fatal line: a subgraph going away is a warning
  },
);
