// Scheduler (v1: every 150 s): keeps the next events of every active flow's schedule as auto-scheduled runs.
import type { Config } from "../../../shared/src/config.ts";
import { runScheduler } from "../../../domain/src/towel/scheduler.ts";
import { loop } from "../loop.ts";

const settings = (config: Config) => config.services.towel;

export const SCHEDULER = loop("Scheduler", "towel-scheduler", (config) => settings(config).scheduler_interval_seconds, async ({ db, config, loggerFor }) => {
  const result = await runScheduler(db, { maxRunsPerFlow: settings(config).max_scheduled_runs_per_flow, log: loggerFor("Scheduler") });
  return {
    message: `Scheduled ${result.runsCreated} flow runs.`,
    counts: { flows: result.flows, runs_created: result.runsCreated, flows_failed: result.failures.length },
    logs: [],
  };
});
