// BullMQ pieces every service shares: which backend the queues live on (queue.backend, redis.url), the Postgres
// schema of the Postgres backend, and a job producer for code that only adds jobs (the towel's outbox relay
// enqueueing cloud-hook deliveries).
//
// A producer must never make its caller hang because the queue store is down: the relay holds its claimed outbox
// rows while it adds their jobs. So the Redis producer has a connection of its own that fails fast (no offline
// queue, a command timeout, an add refused at once while the connection is down) and every add is bounded by a
// timeout; the caller gets a rejected promise it can log, never a hang.
import { Queue, createPostgresBackend, withBackend } from "bullmq";
import { Redis } from "ioredis";
import type { Config } from "./config.ts";
import { withTimeout } from "./timeouts.ts";

export type QueueBackendName = "redis" | "postgres";

/** The backend the configuration asks for: Postgres when queue.backend says so or when no Redis URL is set. */
export function backendName(config: Config): QueueBackendName {
  return config.queue.backend === "postgres" || config.redis.url === "" ? "postgres" : "redis";
}

/** The Postgres schema of the BullMQ tables for a queue prefix. */
export function postgresQueueSchema(prefix: string): string {
  const base = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "") || "prefect_server";
  return `${/^[a-z_]/.test(base) ? base : `q_${base}`}_bullmq`.slice(0, 63);
}

export interface ProducedJob {
  /** Our own job id: adding a job whose id is already in the queue (waiting, delayed or kept) is a no-op. */
  jobId: string;
  /** Attempts in all (the first one included). */
  attempts: number;
  /** First retry delay; each further retry waits twice as long (BullMQ's exponential backoff). */
  backoffMs: number;
  /** How long completed jobs are kept, so that adding the same job id again stays a no-op (seconds). */
  keepCompletedSeconds: number;
  /** Failed jobs kept for inspection. */
  keepFailed: number;
}

/** Adds jobs to one queue. */
export interface JobProducer {
  readonly backend: QueueBackendName;
  /** Rejects (within the producer's timeout) when the job could not be added; never hangs. */
  add(name: string, data: Record<string, unknown>, job: ProducedJob): Promise<void>;
  close(): Promise<void>;
}

/** How long an add may take before it is given up. */
export const PRODUCER_TIMEOUT_MS = 2_000;

/** Waits for an ioredis client's first connection attempt; rejects when it fails or does not finish in time. */
function firstConnection(connection: Redis, ms: number): Promise<void> {
  if (connection.status === "ready") return Promise.resolve();
  let settle: (() => void) | undefined;
  const attempt = new Promise<void>((resolve, reject) => {
    const onReady = () => (settle?.(), resolve());
    const onError = (error: Error) => (settle?.(), reject(new Error(`Redis is not reachable: ${error.message}`)));
    settle = () => {
      connection.off("ready", onReady);
      connection.off("error", onError);
    };
    connection.once("ready", onReady);
    connection.once("error", onError);
  });
  return withTimeout(attempt, ms, "connecting to Redis").finally(() => settle?.());
}

/** A producer for `queueName` on the configured backend (queue.prefix as Redis key prefix / Postgres schema). */
export function createJobProducer(config: Config, queueName: string, options: { timeoutMs?: number } = {}): JobProducer {
  const timeoutMs = options.timeoutMs ?? PRODUCER_TIMEOUT_MS;
  const jobOptions = (job: ProducedJob) => ({
    jobId: job.jobId,
    attempts: job.attempts,
    backoff: { type: "exponential", delay: job.backoffMs },
    removeOnComplete: { age: job.keepCompletedSeconds },
    removeOnFail: job.keepFailed,
  });
  if (backendName(config) === "postgres") {
    const { Queue: PgQueue } = withBackend(createPostgresBackend);
    const queue = new PgQueue(queueName, {
      connection: { connectionString: config.database.connection_url, schema: postgresQueueSchema(config.queue.prefix), migrate: true, max: 2 },
    });
    queue.on("error", () => {}); // every failed add is reported to the caller
    return {
      backend: "postgres",
      async add(name, data, job) {
        await withTimeout(queue.add(name, data, jobOptions(job)), timeoutMs, "adding a job");
      },
      async close() {
        await withTimeout(queue.close(), timeoutMs, "closing the queue").catch(() => {});
      },
    };
  }
  // Fail fast: no offline queue (a command while disconnected is refused at once), a command timeout, reconnects in
  // the background. The connection is made on the first add (a process that never fires a hook never connects).
  // BullMQ's Queue waits for the connection's first `ready`, so only that first add waits (bounded) for it; once the
  // connection was up, an add while it is down is refused at once.
  let state: { connection: Redis; queue: Queue; settled: boolean } | undefined;
  const open = () => {
    if (state) return state;
    const connection = new Redis(config.redis.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      retryStrategy: (times) => Math.min(200 * times, 5_000),
    });
    const queue = new Queue(queueName, { connection, prefix: config.queue.prefix });
    queue.on("error", () => {});
    // `settled`: the first connection attempt is over (it succeeded or failed); from then on nothing waits.
    const opened = { connection, queue, settled: false };
    connection.once("ready", () => (opened.settled = true));
    connection.on("error", () => (opened.settled = true)); // errors reach the caller through the rejected adds
    state = opened;
    return opened;
  };
  return {
    backend: "redis",
    async add(name, data, job) {
      const opened = open();
      const { connection, queue } = opened;
      if (connection.status !== "ready") {
        if (opened.settled || connection.status === "end") throw new Error(`Redis is not reachable (connection ${connection.status})`);
        await firstConnection(connection, timeoutMs);
      }
      await withTimeout(queue.add(name, data, jobOptions(job)), timeoutMs, "adding a job");
    },
    async close() {
      if (!state) return;
      const { connection, queue } = state;
      state = undefined;
      await withTimeout(queue.close(), timeoutMs, "closing the queue").catch(() => {});
      connection.disconnect();
    },
  };
}
