// The one loop base of the towel: a loop is a pass function run once per interval, one pass at a time across every
// replica (a BullMQ job scheduler adds one job per interval to the loop's queue, whose global concurrency is 1).
// loop() adds what every pass gets: timing, the summary log line, the run log lines it wrote echoed to stdout,
// v1's "took longer than its loop interval" warning, the debug heartbeat line and error logging.
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { pythonFloat } from "../../domain/src/python.ts";
import type { RunLogRecord } from "../../domain/src/towel/common.ts";
import type { TowelJob } from "./queues.ts";

/** What a pass or a job handler gets. */
export interface TowelContext {
  db: Pool;
  config: Config;
  /** A logger named `prefect-server.<name>` (v1's logger names). */
  loggerFor(name: string): Logger;
  hooks: PassHooks;
}

/** How a pass ended: its counts, or its error; and how long it took. */
export interface PassOutcome {
  counts?: Record<string, number>;
  error?: unknown;
  durationMs: number;
}

/** Test and instrumentation hooks around every loop pass (the metrics are recorded by such hooks). */
export interface PassHooks {
  passStarted?(loop: string, job: TowelJob): Promise<void> | void;
  passFinished?(loop: string, job: TowelJob, outcome: PassOutcome): Promise<void> | void;
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
      let result: Pick<PassOutcome, "counts" | "error"> = {};
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
        result = { counts: report.counts };
        return report.counts;
      } catch (error) {
        result = { error };
        log.error({ err: error, job_id: job.id }, `Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      } finally {
        await context.hooks.passFinished?.(name, job, { ...result, durationMs: performance.now() - started });
      }
    },
  };
}
