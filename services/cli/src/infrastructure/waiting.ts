// What the infrastructure steps share: how a step reports, how long servers get to answer, and waiting for one.
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../../../shared/src/config.ts";
import { CliError, describeError } from "../common.ts";

/** How long a probe of a configured server may take before it counts as not answering. */
export const PROBE_TIMEOUT_MS = 3_000;
/** How long a server we started may take to accept connections. */
export const READY_TIMEOUT_MS = 60_000;

/** A server one step provides: where it is, where it came from (for the banner), how to stop it if we started it. */
export interface Provided {
  url: string;
  source: string;
  stop?: () => Promise<void>;
}

export interface Context {
  config: Config;
  log: (line: string) => void;
  signal: AbortSignal | undefined;
  readyTimeoutMs: number;
  docker: () => Promise<boolean>;
}

/** Retries `attempt` every half second until it succeeds, the deadline passes, or the bring-up is aborted. */
export async function waitUntil(context: Context, what: string, attempt: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + context.readyTimeoutMs;
  for (;;) {
    context.signal?.throwIfAborted();
    try {
      await attempt();
      return;
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (Date.now() >= deadline) {
        throw new CliError(
          `Timed out after ${Math.round(context.readyTimeoutMs / 1000)} s waiting for ${what}: ${describeError(error)}`,
        );
      }
    }
    await sleep(500);
  }
}

