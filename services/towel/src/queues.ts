// BullMQ wiring for the towel: which backend the queues live on and how queues and workers are built on it.
//
// - Redis (queue.backend = redis, the default): one ioredis client per towel process, shared by its queues and
//   workers (each worker duplicates it for its blocking reads). Keys start with `queue.prefix`. A Redis that comes
//   back after a restart may have lost everything; `onReconnect` tells the towel to re-create its schedulers.
// - PostgreSQL (queue.backend = postgres, or redis.url empty): BullMQ's Postgres backend in the application database,
//   in a schema of its own named after `queue.prefix` (`prefect-server` → `prefect_server_bullmq`), created on first
//   use. Every queue and worker owns a small pool; workers add one LISTEN connection.
import { Queue, Worker, createPostgresBackend, withBackend } from "bullmq";
import { Redis } from "ioredis";
import type { Config } from "../../shared/src/config.ts";
import { maskUrl } from "../../shared/src/logger.ts";
import { backendName, postgresQueueSchema, type QueueBackendName } from "../../shared/src/queues.ts";

export { backendName, postgresQueueSchema, type QueueBackendName };

/** The part of a BullMQ job a towel worker reads. */
export interface TowelJob {
  id?: string;
  name: string;
  data: Record<string, unknown>;
  /** Attempts already made before this one (BullMQ counts failed attempts). */
  attemptsMade?: number;
  /** Attempts allowed in all (the job's `attempts` option). */
  opts?: { attempts?: number };
}

export type TowelProcessor = (job: TowelJob) => Promise<unknown>;

/** The part of a BullMQ Queue the towel uses. */
export interface TowelQueue {
  readonly name: string;
  setGlobalConcurrency(concurrency: number): Promise<unknown>;
  upsertJobScheduler(
    id: string,
    repeat: { every: number },
    template: { name: string; data: Record<string, unknown>; opts: { removeOnComplete: number; removeOnFail: number } },
  ): Promise<unknown>;
  removeJobScheduler(id: string): Promise<unknown>;
  close(): Promise<void>;
}

/** The part of a BullMQ Worker the towel uses. */
export interface TowelWorker {
  close(force?: boolean): Promise<void>;
}

export interface WorkerSettings {
  /** Jobs one worker runs at once. */
  concurrency: number;
  /** How long a job's lock lasts before it must be renewed (BullMQ renews it at half this while the job runs). */
  lockDurationMs: number;
  /** How often the worker looks for jobs whose lock expired (their worker died) and puts them back to wait. */
  stalledCheckMs: number;
  onError(error: Error): void;
}

export interface QueueBackend {
  readonly name: QueueBackendName;
  /** Where the queues live, for logs (credentials masked). */
  readonly location: string;
  createQueue(name: string, onError: (error: Error) => void): TowelQueue;
  createWorker(name: string, processor: TowelProcessor, settings: WorkerSettings): TowelWorker;
  /** Registers a callback run each time a lost connection is re-established (never for the first connection). */
  onReconnect(listener: () => void): void;
  /** Closes what the backend itself opened; close the queues and workers first. */
  close(): Promise<void>;
}

export function createQueueBackend(config: Config): QueueBackend {
  return backendName(config) === "postgres" ? postgresBackend(config) : redisBackend(config);
}

function redisBackend(config: Config): QueueBackend {
  const prefix = config.queue.prefix;
  // Workers need maxRetriesPerRequest: null; commands wait for a reconnect instead of failing.
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null, lazyConnect: false });
  const listeners: (() => void)[] = [];
  let connectedOnce = false;
  connection.on("ready", () => {
    if (connectedOnce) for (const listener of listeners) listener();
    connectedOnce = true;
  });
  // ioredis reports every failed reconnect attempt; the queues' own error handlers log what matters.
  connection.on("error", () => {});
  return {
    name: "redis",
    location: `${maskUrl(config.redis.url)} (prefix ${prefix})`,
    createQueue(name, onError) {
      const queue = new Queue(name, { connection, prefix });
      queue.on("error", onError);
      return queue;
    },
    createWorker(name, processor, settings) {
      const worker = new Worker(name, processor, {
        connection,
        prefix,
        concurrency: settings.concurrency,
        lockDuration: settings.lockDurationMs,
        stalledInterval: settings.stalledCheckMs,
      });
      worker.on("error", settings.onError);
      return worker;
    },
    onReconnect(listener) {
      listeners.push(listener);
    },
    async close() {
      // QUIT needs a live server; with none, drop the connection instead of waiting for it to come back.
      if (connection.status === "ready") await connection.quit().catch(() => connection.disconnect());
      else connection.disconnect();
    },
  };
}

function postgresBackend(config: Config): QueueBackend {
  const { Queue: PgQueue, Worker: PgWorker } = withBackend(createPostgresBackend);
  const schema = postgresQueueSchema(config.queue.prefix);
  const connection = () => ({ connectionString: config.database.connection_url, schema, migrate: true, max: 2 });
  return {
    name: "postgres",
    location: `${maskUrl(config.database.connection_url)} (schema ${schema})`,
    createQueue(name, onError) {
      const queue = new PgQueue(name, { connection: connection() });
      queue.on("error", onError);
      return queue;
    },
    createWorker(name, processor, settings) {
      const worker = new PgWorker(name, processor, {
        connection: connection(),
        concurrency: settings.concurrency,
        lockDuration: settings.lockDurationMs,
        stalledInterval: settings.stalledCheckMs,
      });
      worker.on("error", settings.onError);
      return worker;
    },
    onReconnect() {
      // The jobs live in the application database: nothing is lost when a connection drops.
    },
    async close() {},
  };
}
