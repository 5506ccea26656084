// Bring-up of Postgres and Redis (`dev infrastructure`, `start`): configured servers are used as they are;
// unreachable ones are replaced by an embedded Postgres and a redis-server of our own, which are stopped again.
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { startInfrastructure, type InfrastructureOptions } from "../../services/cli/src/infrastructure.ts";
import { loadConfig } from "../../services/shared/src/config.ts";
import { migrationStatus, withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";
import { createEmptyDatabase, useTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { freePort } from "../helpers/ports.ts";
import { isAlive } from "../helpers/pids.ts";
import { startCli } from "./run.ts";

const REDIS_URL = process.env.PREFECT_SERVER_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const UNREACHABLE = { DATABASE_URL: "postgresql://prefect:x@127.0.0.1:1/x", REDIS_URL: "redis://127.0.0.1:1" };

function configFrom(env: NodeJS.ProcessEnv) {
  return loadConfig({ env, ignoreUserFile: true });
}

function bringUp(env: NodeJS.ProcessEnv, options: InfrastructureOptions = {}) {
  const lines: string[] = [];
  const started = startInfrastructure(configFrom(env), { log: (line) => lines.push(line), ...options });
  return { lines, started };
}

async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Pids of processes whose command line mentions `text`. */
async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    if (commandLine.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

describe("with configured servers that answer", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createEmptyDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  test("uses them as they are and applies the migrations", async () => {
    const { started } = bringUp({ DATABASE_URL: db.url, REDIS_URL });
    const infrastructure = await started;
    expect(infrastructure).toMatchObject({
      databaseUrl: db.url,
      redisUrl: REDIS_URL,
      queueBackend: "redis",
      databaseSource: "configured",
      queueSource: "configured",
    });
    const status = await migrationStatus({ connectionString: db.url });
    expect(status.pending).toEqual([]);
    expect(status.applied.length).toBeGreaterThanOrEqual(2);
    await infrastructure.stop();
    await db.pool.query("select 1");
    expect(await redisAnswers(REDIS_URL)).toBe(true);
  });

  test("creates the configured database when the server answers but it does not exist", async () => {
    const url = withDatabase(inject("adminDatabaseUrl"), `prefect_test_${process.pid}_infra_${randomBytes(3).toString("hex")}`);
    try {
      const { lines, started } = bringUp({ DATABASE_URL: url, REDIS_URL }, { skipUpgrade: true });
      const infrastructure = await started;
      expect(infrastructure.databaseUrl).toBe(url);
      expect(lines.join("\n")).toContain("Created the database of");
      expect((await migrationStatus({ connectionString: url })).applied).toEqual([]);
    } finally {
      await withClient(inject("adminDatabaseUrl"), (client) =>
        client.query(`drop database if exists ${client.escapeIdentifier(new URL(url).pathname.slice(1))} with (force)`),
      );
    }
  });

  test("without Redis and without redis-server the queues use BullMQ's Postgres backend", async () => {
    const path = process.env.PATH;
    process.env.PATH = await mkdtemp(join(tmpdir(), "prefect-no-redis-"));
    try {
      const { lines, started } = bringUp({ DATABASE_URL: db.url, REDIS_URL: UNREACHABLE.REDIS_URL }, { skipUpgrade: true });
      const infrastructure = await started;
      expect(infrastructure).toMatchObject({ redisUrl: null, queueBackend: "postgres" });
      expect(lines.join("\n")).toContain("There is no redis-server on PATH: the queues use BullMQ's Postgres backend");
    } finally {
      await rm(process.env.PATH, { recursive: true, force: true });
      process.env.PATH = path;
    }
  });

  test("queue.backend = postgres needs no Redis at all", async () => {
    const { started } = bringUp(
      { DATABASE_URL: db.url, REDIS_URL: UNREACHABLE.REDIS_URL, PREFECT_SERVER__QUEUE__BACKEND: "postgres" },
      { skipUpgrade: true },
    );
    expect(await started).toMatchObject({
      redisUrl: null,
      queueBackend: "postgres",
      queueSource: "BullMQ on Postgres (queue.backend = postgres)",
    });
  });

  test("an abort during bring-up rejects", async () => {
    const { started } = bringUp({ DATABASE_URL: db.url, REDIS_URL }, { signal: AbortSignal.abort(new Error("stop")) });
    await expect(started).rejects.toThrow("stop");
  });
});

describe("start with configured servers and no service built yet", () => {
  const db = useTestDatabase();

  test("comes up, prints the banner, says what is not built, and exits 0 on SIGTERM", async () => {
    const empty = await mkdtemp(join(tmpdir(), "prefect-no-services-"));
    try {
      const run = startCli(["start"], { DATABASE_URL: db.url, REDIS_URL, PREFECT_SERVER_SERVICES_ROOT: empty });
      await run.waitFor("No service is available yet; press Ctrl-C to stop.");
      expect(run.stdout).toContain("Prefect Server infrastructure is ready:");
      expect(run.stdout).toContain("Not built yet: postgraphile, mutations, gateway, towel.");
      expect(run.stdout).toMatch(/Gateway:\s+http:\/\/localhost:4200\/graphql/);
      expect(run.stdout).toMatch(/Mutations:\s+http:\/\/127\.0\.0\.1:4201\/graphql\//);
      run.child.kill("SIGTERM");
      expect(await run.exited).toBe(0);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe("with unreachable configured servers (embedded Postgres and redis-server)", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "prefect-server-home-"));
    // The embedded server runs as the postgres user when we are root: it must reach its data folder.
    await chmod(home, 0o755);
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test("starts both, applies the migrations, and stop() leaves no process behind", { timeout: 120_000 }, async () => {
    const { lines, started } = bringUp({ ...UNREACHABLE, PREFECT_SERVER__HOME: home });
    const infrastructure = await started;
    expect(infrastructure.databaseUrl).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/prefect_server$/);
    expect(infrastructure.databaseSource).toBe(`embedded (data in ${join(home, "postgres")})`);
    expect(infrastructure.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(infrastructure.queueBackend).toBe("redis");
    expect(lines.join("\n")).toContain("The configured Postgres (postgresql://prefect:****@127.0.0.1:1/x) does not answer");

    const client = new pg.Client({ connectionString: infrastructure.databaseUrl });
    await client.connect();
    const { rows } = await client.query<{ count: number }>("select count(*)::int as count from tenant");
    expect(rows).toEqual([{ count: 0 }]);
    await client.end();
    expect((await migrationStatus({ connectionString: infrastructure.databaseUrl })).pending).toEqual([]);
    expect(await redisAnswers(infrastructure.redisUrl!)).toBe(true);

    const postmaster = Number((await readFile(join(home, "postgres", "postmaster.pid"), "utf8")).split("\n")[0]);
    expect(isAlive(postmaster)).toBe(true);
    await infrastructure.stop();
    expect(isAlive(postmaster)).toBe(false);
    expect(await redisAnswers(infrastructure.redisUrl!)).toBe(false);
    expect(await processesMentioning(home)).toEqual([]);
  });

  test("start runs every service against them, all four answer, and it exits cleanly on SIGTERM", { timeout: 180_000 }, async () => {
    const [gateway, postgraphile, mutations, towelMetrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const run = startCli(["start"], {
      ...UNREACHABLE,
      // as users run it: under vitest's NODE_ENV=test Apollo Server leaves SIGTERM alone, which once hid a gateway
      // that took its whole stop timeout (15 s) to stop
      NODE_ENV: "production",
      PREFECT_SERVER__HOME: home,
      PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: String(gateway),
      PREFECT_SERVER__SERVICES__GATEWAY__URL: `http://127.0.0.1:${gateway}/graphql`,
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: String(postgraphile),
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL: `http://127.0.0.1:${postgraphile}/graphql`,
      PREFECT_SERVER__SERVICES__MUTATIONS__PORT: String(mutations),
      PREFECT_SERVER__SERVICES__MUTATIONS__URL: `http://127.0.0.1:${mutations}/graphql/`,
      PREFECT_SERVER__SERVICES__TOWEL__METRICS_PORT: String(towelMetrics),
    });
    // the banner's last row: the whole banner has been printed
    await run.waitFor(new RegExp(`Mutations:\\s+http://127\\.0\\.0\\.1:${mutations}/graphql/`), 120_000);
    expect(run.stdout).toContain("Prefect Server infrastructure is ready:");
    expect(run.stdout).toMatch(/Postgres:\s+postgresql:\/\/postgres:\*\*\*\*@127\.0\.0\.1:\d+\/prefect_server/);
    const redisUrl = /Queues:\s+(redis:\/\/127\.0\.0\.1:\d+)/.exec(run.stdout)?.[1];
    expect(redisUrl).toBeDefined();
    expect(run.stdout).toMatch(new RegExp(`Gateway:\\s+http://127\\.0\\.0\\.1:${gateway}/graphql`));
    expect(run.stdout).not.toContain("Not built yet");

    // Each service answers; the gateway is ready, i.e. it composed both subgraphs and reaches the embedded Postgres.
    const answers = async (url: string) => (await fetch(url).catch(() => undefined))?.status === 200;
    const deadline = Date.now() + 60_000;
    const urls = [postgraphile, mutations, gateway, towelMetrics].map((port) => `http://127.0.0.1:${port}/health`).concat(`http://127.0.0.1:${gateway}/ready`);
    for (const url of urls) {
      while (!(await answers(url))) {
        if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within 60 s\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    const query = await fetch(`http://127.0.0.1:${gateway}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ hello tenant { id } }" }),
    });
    expect(await query.json()).toEqual({ data: { hello: "👋", tenant: [] } });
    // The towel runs its loops on the embedded redis-server.
    await run.waitFor(/\[towel\].*"msg":"towel started"\}\n/, 60_000);
    const towel = JSON.parse(run.stdout.split("\n").find((line) => line.includes('"msg":"towel started"'))!.replace(/^\S+\s+/, ""));
    expect(towel.backend).toBe("redis");
    expect(towel.location).toContain(`${redisUrl} `);

    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stdout).toMatch(/\[towel\].*towel stopped/);
    expect(run.stdout).toMatch(/\[gateway\].*gateway stopped/);
    expect(run.stdout).toContain("Stopping the embedded Postgres…");
    expect(await processesMentioning(home)).toEqual([]);
  });

  test("start --single-process runs every service in one process, which serves and exits cleanly on SIGTERM", { timeout: 180_000 }, async () => {
    const [gateway, postgraphile, mutations] = [await freePort(), await freePort(), await freePort()];
    const run = startCli(["start", "--single-process"], {
      ...UNREACHABLE,
      NODE_ENV: "production",
      PREFECT_SERVER__HOME: home,
      PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: String(gateway),
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: String(postgraphile),
      PREFECT_SERVER__SERVICES__MUTATIONS__PORT: String(mutations),
    });
    await run.waitFor(/\[all\].*"msg":"the server runs in one process"/, 120_000);
    expect(run.stdout).toContain("Starting postgraphile, mutations, gateway, towel in one process…");
    expect(run.stdout).toMatch(/\[all\].*"msg":"towel started"/);
    // one service line prefix only: no process of its own for any service
    expect(run.stdout).not.toMatch(/^\S*\[(gateway|towel|postgraphile|mutations)\]/m);
    const ready = async () => (await fetch(`http://127.0.0.1:${gateway}/ready`).catch(() => undefined))?.status === 200;
    const deadline = Date.now() + 60_000;
    while (!(await ready())) {
      if (Date.now() > deadline) throw new Error(`the gateway was not ready within 60 s\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const query = await fetch(`http://127.0.0.1:${gateway}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: 'mutation { create_tenant(input: { name: "one", slug: "one" }) { id } }' }),
    });
    const created = (await query.json()) as { data?: { create_tenant: { id: string } } };
    expect(created.data?.create_tenant.id).toMatch(/^[0-9a-f-]{36}$/);
    const read = await fetch(`http://127.0.0.1:${gateway}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ tenant { slug } }" }),
    });
    expect(await read.json()).toEqual({ data: { tenant: [{ slug: "one" }] } });
    // the data graph and the mutations service do not listen on ports of their own
    for (const port of [postgraphile, mutations]) expect(await fetch(`http://127.0.0.1:${port}/health`).catch(() => "refused")).toBe("refused");

    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stdout).toMatch(/\[all\].*towel stopped/);
    expect(run.stdout).toMatch(/\[all\].*gateway stopped/);
    expect(await processesMentioning(home)).toEqual([]);
  });
});
