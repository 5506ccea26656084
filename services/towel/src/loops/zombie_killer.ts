// ZombieKiller (v1: every 120 s): retries or fails task runs whose flow run's heartbeat stopped, fails stale
// Cancelling flow runs.
import type { Config } from "../../../shared/src/config.ts";
import { runZombieKiller } from "../../../domain/src/towel/zombie_killer.ts";
import { loop } from "../loop.ts";

export const ZOMBIE_KILLER = loop(
  "ZombieKiller",
  "towel-zombie-killer",
  (config: Config) => config.services.towel.zombie_killer_interval_seconds,
  async ({ db }) => {
    const result = await runZombieKiller(db);
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
