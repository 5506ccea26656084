// Lazarus (v1: every 600 s): reschedules flow runs whose heartbeat stopped, up to the resurrection limit.
import type { Config } from "../../../shared/src/config.ts";
import { runLazarus } from "../../../domain/src/towel/lazarus.ts";
import { loop } from "../loop.ts";

export const LAZARUS = loop("Lazarus", "towel-lazarus", (config: Config) => config.services.towel.lazarus_interval_seconds, async ({ db, config }) => {
  const result = await runLazarus(db, { resurrectionAttemptLimit: config.services.lazarus.resurrection_attempt_limit });
  return {
    message: `Rescheduled ${result.rescheduled} flow runs; marked ${result.failed} as failed.`,
    counts: { rescheduled: result.rescheduled, failed: result.failed },
    logs: result.logs,
  };
});
