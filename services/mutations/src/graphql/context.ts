// What every resolver receives: the database, the configuration, a logger and the request's `x-prefect-*` headers.
import type { Config } from "../../../shared/src/config.ts";
import type { Pool } from "../../../shared/src/database/pool.ts";
import type { Logger } from "../../../shared/src/logger.ts";
import { normaliseUuid } from "../../../domain/src/inputs.ts";

export interface Context {
  db: Pool;
  config: Config;
  log: Logger;
  /** Request headers whose lower-cased name starts with `x-prefect`, keyed by that lower-cased name. */
  headers: Readonly<Record<string, string>>;
}

/** The agent id an agent sends in `X-PREFECT-AGENT-ID`, when it is a UUID. */
export function agentIdHeader(context: Context): string | null {
  return normaliseUuid(context.headers["x-prefect-agent-id"]) ?? null;
}

/** How the API schedules runs: `services.towel.max_scheduled_runs_per_flow` events per flow, problems logged. */
export function scheduleOptions(context: Context): { maxRuns: number; log: Logger } {
  return { maxRuns: context.config.services.towel.max_scheduled_runs_per_flow, log: context.log };
}

/** The Core version a client sends in `X-PREFECT-CORE-VERSION`. */
export function coreVersionHeader(context: Context): string | null {
  return context.headers["x-prefect-core-version"] ?? null;
}
