// Entry point of the towel service (v1's `towel`: Scheduler, Lazarus, ZombieKiller, plus the outbox relay and the
// cloud-hook delivery worker), as the CLI's service registry expects it: `start(config, log)` resolves once every
// worker is running, to a handle whose `stop()` closes the workers (waiting for the passes in progress), the relay,
// the queues and the connections. With metrics on, `start` also listens for GET /metrics (metrics.ts).
import type { AddressInfo } from "node:net";
import type { Config } from "../../shared/src/config.ts";
import { createPool, type Pool } from "../../shared/src/database/pool.ts";
import { closeServer } from "../../shared/src/http.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { metricsEnabled, trackPool } from "../../shared/src/metrics.ts";
import { OutageLog } from "../../shared/src/outages.ts";
import { createJobProducer } from "../../shared/src/queues.ts";
import { settlesWithin } from "../../shared/src/timeouts.ts";
import { CLOUD_HOOK_QUEUE } from "../../domain/src/cloud_hooks/events.ts";
import { createQueueBackend, type QueueBackend, type TowelJob, type TowelQueue, type TowelWorker } from "./queues.ts";
import { combinedHooks, countRelayed, listenForMetrics, offerRunMetrics, passMetricsHooks } from "./metrics.ts";
import { startOutboxRelay, type OutboxRelay } from "./relay.ts";
import { defaultLoggerFor, switchedOffLoops, towelWorkers, type PassHooks, type TowelContext, type TowelWorkerDefinition } from "./workers.ts";

/** Finished jobs kept per queue, for inspection. */
const KEEP_COMPLETED_JOBS = 100;
const KEEP_FAILED_JOBS = 500;
/**
 * A job's lock; BullMQ renews it at half this while a pass runs, so a slow pass keeps its lock, and a replica that
 * dies stops renewing it. Every STALLED_CHECK_MS each replica looks for active jobs whose lock expired and puts them
 * back to wait, so a loop whose replica died runs again on another within LOCK_DURATION_MS + STALLED_CHECK_MS
 * (docs/operations.md, "The towel"). The global concurrency of 1 still holds: the job of the dead replica counts as
 * running until it is put back.
 */
export const LOCK_DURATION_MS = 8_000;
export const STALLED_CHECK_MS = 4_000;
/** Connections of the towel's own database pool (a Scheduler pass uses up to three at a time, the other passes one). */
export const POOL_SIZE = 4;
/**
 * How long stop() waits for the passes in progress before it closes the workers regardless (the CLI allows a
 * service services.stop_timeout_seconds, 15 s by default, to stop).
 */
const STOP_WAIT_MS = 10_000;
/** How long closing the queues and connections may take once the workers are closed (the queue store may be gone). */
const CLOSE_WAIT_MS = 3_000;

export interface RunningTowel {
  /** Where GET /metrics is served (`start` with metrics on). */
  metricsAddress?: AddressInfo;
  stop(): Promise<void>;
}

export interface TowelOptions {
  /** A pool to use instead of one of our own (not closed by stop()). */
  db?: Pool;
  /** The workers to run instead of towelWorkers(). */
  workers?: TowelWorkerDefinition[];
  loggerFor?: (name: string) => Logger;
  hooks?: PassHooks;
}

/** The CLI's entry point: the towel, and its metrics listener when metrics are on. */
export async function start(config: Config, log: Logger): Promise<RunningTowel> {
  const towel = await startTowel(config, log);
  if (!metricsEnabled(config)) return towel;
  let listener;
  try {
    listener = await listenForMetrics(config, log);
  } catch (error) {
    await towel.stop();
    throw error;
  }
  const { server, address } = listener;
  return {
    metricsAddress: address,
    async stop() {
      await closeServer(server, true);
      await towel.stop();
    },
  };
}

interface Running {
  definition: TowelWorkerDefinition;
  queue: TowelQueue;
  worker?: TowelWorker;
}

/** Makes sure a queue has its global concurrency and, for a loop, its job scheduler (idempotent, any replica). */
async function prepareQueue(entry: Running, config: Config): Promise<void> {
  const { definition, queue } = entry;
  if (definition.globalConcurrency !== undefined) await queue.setGlobalConcurrency(definition.globalConcurrency);
  if (definition.everyMs) {
    await queue.upsertJobScheduler(
      definition.queue,
      { every: definition.everyMs(config) },
      { name: definition.name, data: {}, opts: { removeOnComplete: KEEP_COMPLETED_JOBS, removeOnFail: KEEP_FAILED_JOBS } },
    );
  }
}

export async function startTowel(config: Config, log: Logger, options: TowelOptions = {}): Promise<RunningTowel> {
  const ownPool = options.db === undefined;
  const db = options.db ?? createPool(config.database.connection_url, POOL_SIZE);
  if (ownPool) trackPool(config, "towel", db);
  const metrics = metricsEnabled(config);
  const definitions = options.workers ?? towelWorkers(config);
  const loggerFor = options.loggerFor ?? defaultLoggerFor;
  const hooks = metrics ? combinedHooks(options.hooks, passMetricsHooks()) : (options.hooks ?? {});
  const context: TowelContext = { db, config, loggerFor, hooks };
  const withdrawRunMetrics = metrics ? offerRunMetrics(db, loggerFor("Metrics")) : undefined;
  let backend: QueueBackend | undefined;
  let relay: OutboxRelay | undefined;
  // a lost queue connection makes every queue and worker report every reconnect attempt: one line per queue per 10 s
  const queueOutages = new OutageLog(log, { field: "queue", failed: "The queue connection failed; the loops wait for it.", recovered: "The queue works again." });
  const running: Running[] = [];
  const active = new Set<Promise<unknown>>();
  try {
    backend = createQueueBackend(config);
    for (const definition of definitions) {
      const onError = (error: Error) => queueOutages.failed(definition.queue, error);
      const entry: Running = { definition, queue: backend.createQueue(definition.queue, onError) };
      running.push(entry);
      await prepareQueue(entry, config);
      const processor = (job: TowelJob) => {
        const pass = definition.process(job, context);
        active.add(pass);
        void pass.finally(() => active.delete(pass)).catch(() => {});
        return pass;
      };
      entry.worker = backend.createWorker(definition.queue, processor, {
        concurrency: definition.concurrency,
        lockDurationMs: LOCK_DURATION_MS,
        stalledCheckMs: STALLED_CHECK_MS,
        onError,
      });
    }
    if (!options.workers) {
      for (const definition of switchedOffLoops(config)) {
        const queue = backend.createQueue(definition.queue, (error) => queueOutages.failed(definition.queue, error));
        try {
          await queue.removeJobScheduler(definition.queue);
        } finally {
          await queue.close();
        }
      }
    }
    relay = startOutboxRelay({
      db,
      producer: createJobProducer(config, CLOUD_HOOK_QUEUE),
      log: loggerFor("OutboxRelay"),
      ...(metrics ? { onRelayed: countRelayed } : {}),
    });
    // A Redis that restarted may have lost the schedulers, the concurrency settings and the delivery jobs: put them
    // back.
    backend.onReconnect(() => {
      log.info("Queue connection re-established; re-creating the loop schedulers.");
      queueOutages.recoveredAll();
      relay?.requeue();
      for (const entry of running) {
        prepareQueue(entry, config).catch((error: unknown) =>
          log.error({ err: error, queue: entry.definition.queue }, "Could not re-create a loop scheduler"),
        );
      }
    });
  } catch (error) {
    withdrawRunMetrics?.();
    await shutdown(running, active, backend, relay, ownPool ? db : undefined, log);
    throw error;
  }
  log.info(
    {
      backend: backend.name,
      location: backend.location,
      loops: definitions.filter((definition) => definition.everyMs).map((definition) => `${definition.name} every ${definition.everyMs!(config) / 1000} s`),
      workers: definitions.filter((definition) => !definition.everyMs).map((definition) => definition.name),
      debug_mode: config.services.towel.debug_mode,
    },
    "towel started",
  );
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        log.info("towel stopping: waiting for the passes in progress");
        withdrawRunMetrics?.();
        await shutdown(running, active, backend, relay, ownPool ? db : undefined, log);
        log.info("towel stopped");
      })();
      return stopping;
    },
  };
}

async function shutdown(
  running: Running[],
  active: Set<Promise<unknown>>,
  backend: QueueBackend | undefined,
  relay: OutboxRelay | undefined,
  db: Pool | undefined,
  log: Logger,
): Promise<void> {
  // Workers first: closing stops them taking new jobs and lets the passes in progress finish. A pass that outlives
  // STOP_WAIT_MS, or a queue store that went away, must not keep the process from stopping: then the workers are
  // closed by force (an unfinished pass's transaction is rolled back; its job is retried once its lock expires).
  const workers = running.flatMap((entry) => (entry.worker ? [entry.worker] : []));
  const closing = Promise.allSettled(workers.map((worker) => worker.close()));
  if (!(await settlesWithin(Promise.allSettled([...active]), STOP_WAIT_MS))) {
    log.warn(`The passes in progress did not finish within ${STOP_WAIT_MS / 1000} s; closing the workers anyway.`);
  }
  if (!(await settlesWithin(closing, CLOSE_WAIT_MS))) {
    log.warn("The workers did not close cleanly (is the queue store reachable?); closing them by force.");
    await settlesWithin(Promise.allSettled(workers.map((worker) => worker.close(true))), CLOSE_WAIT_MS);
  }
  if (!(await settlesWithin(Promise.allSettled(running.map((entry) => entry.queue.close())), CLOSE_WAIT_MS))) {
    log.warn("The queues did not close cleanly (is the queue store reachable?).");
  }
  await settlesWithin(backend?.close() ?? Promise.resolve(), CLOSE_WAIT_MS);
  // The relay's pass in progress (each add is bounded by the producer's timeout), then its producer.
  await settlesWithin(relay?.stop() ?? Promise.resolve(), CLOSE_WAIT_MS);
  await db?.end();
}
