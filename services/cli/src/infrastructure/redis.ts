// Redis for development: the configured URL if it answers, else compose.dev.yml's redis service when a Docker engine
// answers, else redis-server from PATH; without one the queues use BullMQ's Postgres backend.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { Redis } from "ioredis";
import type { Config } from "../../../shared/src/config.ts";
import { maskUrl } from "../../../shared/src/logger.ts";
import { freePort } from "../../../shared/src/ports.ts";
import { CliError, describeError } from "../common.ts";
import { STOP_GRACE_MS } from "../supervisor.ts";
import { composePort, composeStop, composeUp } from "./docker.ts";
import { PROBE_TIMEOUT_MS, waitUntil, type Context, type Provided } from "./waiting.ts";

export function queueWithoutRedisReason(config: Config): string {
  if (config.queue.backend === "postgres") return "BullMQ on Postgres (queue.backend = postgres)";
  if (config.redis.url === "") return "BullMQ on Postgres (redis.url is empty)";
  return "BullMQ on Postgres (no Redis found)";
}

/** A Redis URL, or null when the queues should use BullMQ's Postgres backend. */
export async function provideRedis(context: Context): Promise<Provided | null> {
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

