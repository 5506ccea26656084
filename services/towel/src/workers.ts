// The towel's worker registry: every queue the towel process works on, and how one pass of a loop is run, timed and
// logged.
//
// Two kinds of entries:
// - loops (Scheduler, Lazarus, ZombieKiller): a BullMQ job scheduler adds one job per interval; the queue's global
//   concurrency of 1 means one pass at a time across every towel replica, however long a pass takes;
// - queue workers fed by other services (the cloud-hook delivery worker of the mutations service): no scheduler,
//   just a worker; `everyMs` is left out.
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import { logger as namedLogger, type Logger } from "../../shared/src/logger.ts";
import type { CloudHooks } from "../../domain/src/cloud_hooks/events.ts";
import { cloudHookWorker, type DeliveryEndpoints } from "../../domain/src/cloud_hooks/hooks.ts";
import type { RunLogRecord } from "../../domain/src/towel/common.ts";
import { runLazarus } from "../../domain/src/towel/lazarus.ts";
import { runScheduler } from "../../domain/src/towel/scheduler.ts";
import { runZombieKiller } from "../../domain/src/towel/zombie_killer.ts";
import type { TowelJob } from "./queues.ts";
import { pythonFloat } from "../../domain/src/python.ts";

/** What a pass or a job handler gets. */
export interface TowelContext {
  db: Pool;
  config: Config;
  /** A logger named `prefect-server.<name>` (v1's logger names). */
  loggerFor(name: string): Logger;
  hooks: PassHooks;
  /** Where the loops' flow-run state changes fire the cloud hooks that match them. */
  cloudHooks?: CloudHooks;
}

/** Test and instrumentation hooks around every loop pass. */
export interface PassHooks {
  passStarted?(loop: string, job: TowelJob): Promise<void> | void;
  passFinished?(loop: string, job: TowelJob, outcome: { counts?: Record<string, number>; error?: unknown }): Promise<void> | void;
}

export interface TowelWorkerDefinition {
  /** v1's class name, used for the logger (`prefect-server.<name>`) and the job scheduler's jobs. */
  name: string;
  /** Queue name (the backend adds queue.prefix). */
  queue: string;
  /** For loops: milliseconds between passes. Absent for workers whose jobs come from elsewhere. */
  everyMs?(config: Config): number;
  /** Jobs of this queue running at once across all replicas (1 for loops); absent = unlimited. */
  globalConcurrency?: number;
  /** Jobs one replica runs at once. */
  concurrency: number;
  process(job: TowelJob, context: TowelContext): Promise<unknown>;
}

/** What one loop pass did: a summary line, its counts, and the run log lines it wrote to the `log` table. */
export interface PassReport {
  message: string;
  counts: Record<string, number>;
  logs: RunLogRecord[];
}

/** v1's LoopService debug setting: every loop runs every second. */
export const DEBUG_INTERVAL_SECONDS = 1;
/** The "still alive" debug line of each loop is written at most this often (v1: 5 minutes). */
export const HEARTBEAT_LOG_INTERVAL_MS = 5 * 60_000;

export function loopIntervalSeconds(config: Config, configured: number): number {
  return config.services.towel.debug_mode ? DEBUG_INTERVAL_SECONDS : configured;
}

/** Turns a pass function into a loop worker: timing, the summary log line, the echoed run logs, error logging. */
export function loop(
  name: string,
  queue: string,
  intervalSeconds: (config: Config) => number,
  pass: (context: TowelContext) => Promise<PassReport>,
): TowelWorkerDefinition {
  let lastHeartbeatLog = 0;
  const seconds = (config: Config) => loopIntervalSeconds(config, intervalSeconds(config));
  return {
    name,
    queue,
    everyMs: (config) => seconds(config) * 1000,
    globalConcurrency: 1,
    concurrency: 1,
    async process(job, context) {
      const log = context.loggerFor(name);
      const started = performance.now();
      await context.hooks.passStarted?.(name, job);
      let outcome: { counts?: Record<string, number>; error?: unknown } = {};
      try {
        const report = await pass(context);
        const durationMs = Math.round(performance.now() - started);
        for (const record of report.logs) {
          const line = { flow_run_id: record.flow_run_id, task_run_id: record.task_run_id ?? undefined };
          if (record.level === "ERROR") context.loggerFor(record.name).error(line, record.message);
          else context.loggerFor(record.name).info(line, record.message);
        }
        log.info({ ...report.counts, duration_ms: durationMs, job_id: job.id }, report.message);
        const interval = seconds(context.config);
        if (durationMs > interval * 1000) {
          log.warn(`${name} took longer to run than its loop interval of ${pythonFloat(interval)} seconds.`);
        }
        if (Date.now() - lastHeartbeatLog >= HEARTBEAT_LOG_INTERVAL_MS) {
          lastHeartbeatLog = Date.now();
          log.debug(`Heartbeat from ${name}`);
        }
        outcome = { counts: report.counts };
        return report.counts;
      } catch (error) {
        outcome = { error };
        log.error({ err: error, job_id: job.id }, `Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      } finally {
        await context.hooks.passFinished?.(name, job, outcome);
      }
    },
  };
}

const towel = (config: Config) => config.services.towel;

export const SCHEDULER = loop("Scheduler", "towel-scheduler", (config) => towel(config).scheduler_interval_seconds, async ({ db, config, loggerFor, cloudHooks }) => {
  const result = await runScheduler(db, { maxRunsPerFlow: towel(config).max_scheduled_runs_per_flow, log: loggerFor("Scheduler"), cloudHooks });
  return {
    message: `Scheduled ${result.runsCreated} flow runs.`,
    counts: { flows: result.flows, runs_created: result.runsCreated, flows_failed: result.failures.length },
    logs: [],
  };
});

export const LAZARUS = loop("Lazarus", "towel-lazarus", (config) => towel(config).lazarus_interval_seconds, async ({ db, config, cloudHooks }) => {
  const result = await runLazarus(db, { resurrectionAttemptLimit: config.services.lazarus.resurrection_attempt_limit, cloudHooks });
  return {
    message: `Rescheduled ${result.rescheduled} flow runs; marked ${result.failed} as failed.`,
    counts: { rescheduled: result.rescheduled, failed: result.failed },
    logs: result.logs,
  };
});

export const ZOMBIE_KILLER = loop(
  "ZombieKiller",
  "towel-zombie-killer",
  (config) => towel(config).zombie_killer_interval_seconds,
  async ({ db, cloudHooks }) => {
    const result = await runZombieKiller(db, { cloudHooks });
    return {
      message:
        `Found ${result.taskRunsFailed + result.taskRunsRetried} zombie task runs ` +
        `(${result.taskRunsRetried} retried, ${result.taskRunsFailed} failed) and failed ${result.flowRunsFailed} cancelling flow runs.`,
      counts: {
        task_runs_retried: result.taskRunsRetried,
        task_runs_failed: result.taskRunsFailed,
        flow_runs_failed: result.flowRunsFailed,
      },
      logs: result.logs,
    };
  },
);

/**
 * The cloud-hook delivery worker of the mutations service (services/domain/src/cloud_hooks/) as a towel
 * queue worker: jobs come from the state writers; a failed delivery is retried by BullMQ with exponential backoff.
 */
export function cloudHookDeliveryWorker(options: { endpoints?: Partial<DeliveryEndpoints> } = {}): TowelWorkerDefinition {
  const worker = cloudHookWorker(options);
  return {
    name: worker.name,
    queue: worker.queue,
    concurrency: worker.concurrency,
    process: (job, context) => worker.process(job, { db: context.db, config: context.config, log: context.loggerFor(worker.name) }),
  };
}

/** Everything the towel process works on: the three loops and the cloud-hook deliveries. */
export function towelWorkers(): TowelWorkerDefinition[] {
  return [SCHEDULER, LAZARUS, ZOMBIE_KILLER, cloudHookDeliveryWorker()];
}

export const defaultLoggerFor = (name: string): Logger => namedLogger(name);
