// Logging an outage as an operator wants to read it: while something is down every attempt fails, so the failures of
// each thing are reported at most once per OUTAGE_REPORT_INTERVAL_MS, in one line (the error's text, no stack) with
// the number of failures since the last report, and its recovery once. The gateway's subgraph calls, the towel's
// queues and its outbox relay use it.
import type { Logger } from "./logger.ts";

/** How often an outage of one thing is reported while it lasts. */
export const OUTAGE_REPORT_INTERVAL_MS = 10_000;

export interface OutageTexts {
  /** The log field naming what failed ("subgraph", "queue"). */
  field: string;
  /** The message of a failure line. */
  failed: string;
  /** The message of the recovery line. */
  recovered: string;
}

export class OutageLog {
  readonly #log: Pick<Logger, "warn" | "info">;
  readonly #texts: OutageTexts;
  readonly #failing = new Map<string, { reportedAt: number; since: number }>();

  constructor(log: Pick<Logger, "warn" | "info">, texts: OutageTexts) {
    this.#log = log;
    this.#texts = texts;
  }

  failed(name: string, error: Error): void {
    const now = Date.now();
    const outage = this.#failing.get(name);
    if (outage && now - outage.reportedAt < OUTAGE_REPORT_INTERVAL_MS) {
      outage.since++;
      return;
    }
    this.#log.warn({ [this.#texts.field]: name, error: error.message, failuresSinceLastReport: outage?.since ?? 0 }, this.#texts.failed);
    this.#failing.set(name, { reportedAt: now, since: 0 });
  }

  recovered(name: string): void {
    if (this.#failing.size === 0 || !this.#failing.delete(name)) return;
    this.#log.info({ [this.#texts.field]: name }, this.#texts.recovered);
  }

  /** Every outage under way ends (the connection they all depend on is back). */
  recoveredAll(): void {
    for (const name of [...this.#failing.keys()]) this.recovered(name);
  }
}
