// Retention (beyond v1; off by default): deletes finished flow runs, with everything that belongs to them, and logs
// older than the configured ages (docs/operations.md, "Retention"). A pass works in short batches for a bounded
// time, so a large backlog is worked off over several passes (or at once by `prefect-server database prune`).
import type { Config } from "../../../shared/src/config.ts";
import { describeRemovedRows, removedRowsByField, retentionIsOff, runRetention, type RetentionRules } from "../../../domain/src/towel/retention.ts";
import { loop, loopIntervalSeconds } from "../loop.ts";

const DAY_SECONDS = 86_400;
/** The longest a pass goes on starting batches (at most half its interval). */
export const RETENTION_PASS_SECONDS = 30;

const settings = (config: Config) => config.services.towel;

/** The configured rules; a setting of 0 days switches its rule off. */
export function retentionRules(config: Config): RetentionRules {
  const days = (value: number) => (value === 0 ? null : value * DAY_SECONDS);
  return { flowRunsOlderThanSeconds: days(settings(config).retention_flow_runs_days), logsOlderThanSeconds: days(settings(config).retention_logs_days) };
}

export const retentionEnabled = (config: Config): boolean => !retentionIsOff(retentionRules(config));

export const RETENTION = loop("Retention", "towel-retention", (config) => settings(config).retention_interval_seconds, async ({ db, config }) => {
  const budgetMs = Math.min(RETENTION_PASS_SECONDS, loopIntervalSeconds(config, settings(config).retention_interval_seconds) / 2) * 1000;
  const result = await runRetention(db, retentionRules(config), { signal: AbortSignal.timeout(budgetMs) });
  return {
    message: `Deleted ${describeRemovedRows(result.removed)}${result.complete ? "." : "; the rest is left for the next pass."}`,
    counts: { ...removedRowsByField(result.removed), batches: result.batches },
    logs: [],
  };
});
