// The towel's metrics (docs/operations.md, "Metrics"): its loop passes (duration and outcome, the rows each one
// reported), the cloud-hook deliveries and the outbox relay, and the flow runs' figures (domain/src/run_metrics.ts).
// The towel computes those figures for the whole server, and only when it is scraped: at most once per
// RUN_METRICS_REFRESH_MS, however many scrapers ask, so that their cost does not grow with the scrapers. Its own
// HTTP listener (services.towel.metrics_host / metrics_port) serves them, with /health.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Gauge } from "prom-client";
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import { createHttpServer, installHealth, installMetrics, listen, Routes, serviceHttpOptions } from "../../shared/src/http.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { processCounter, processGauge, processHistogram } from "../../shared/src/metrics.ts";
import { OutageLog } from "../../shared/src/outages.ts";
import type { DeliveryOutcome, RelayResult } from "../../domain/src/cloud_hooks/outbox.ts";
import { readRunMetrics, type RunMetrics } from "../../domain/src/run_metrics.ts";
import type { PassHooks } from "./loop.ts";

/** Scrapes within this long of the last reading of the flow runs' figures get that reading. */
export const RUN_METRICS_REFRESH_MS = 10_000;

/** Pass durations: 10 ms to 10 minutes. */
const PASS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

// ---- loop passes -------------------------------------------------------------------------------------------------------

const passDuration = processHistogram({
  name: "prefect_server_towel_pass_duration_seconds",
  help: "Towel loop passes, by loop and outcome (ok, error), and how long each took.",
  labelNames: ["loop", "outcome"] as const,
  buckets: PASS_BUCKETS,
});

const passRows = processCounter({
  name: "prefect_server_towel_pass_rows_total",
  help: "What the towel's loop passes reported doing, by loop and count (Lazarus: rescheduled, failed; ZombieKiller: task runs retried or failed …).",
  labelNames: ["loop", "kind"] as const,
});

/** Hooks recording every loop pass. */
export function passMetricsHooks(): PassHooks {
  return {
    passFinished(loop, _job, { counts, error, durationMs }) {
      passDuration().labels(loop, error === undefined ? "ok" : "error").observe(durationMs / 1000);
      for (const [kind, rows] of Object.entries(counts ?? {})) passRows().labels(loop, kind).inc(rows);
    },
  };
}

/** Several hooks as one (the tests' and the metrics'). */
export function combinedHooks(...hooks: (PassHooks | undefined)[]): PassHooks {
  const all = hooks.filter((entry): entry is PassHooks => entry !== undefined);
  return {
    async passStarted(loop, job) {
      for (const entry of all) await entry.passStarted?.(loop, job);
    },
    async passFinished(loop, job, outcome) {
      for (const entry of all) await entry.passFinished?.(loop, job, outcome);
    },
  };
}

// ---- cloud hooks -------------------------------------------------------------------------------------------------------

const deliveries = processCounter({
  name: "prefect_server_cloud_hook_deliveries_total",
  help: "Cloud-hook delivery attempts, by outcome: delivered, dropped (hook deleted or deactivated), retrying (failed, tried again later), failed (failed the last attempt).",
  labelNames: ["outcome"] as const,
});

/** Counts one delivery attempt. */
export const countDelivery = (outcome: DeliveryOutcome | "retrying"): void => deliveries().labels(outcome).inc();

const relayed = processCounter({
  name: "prefect_server_outbox_relayed_total",
  help: "Outbox rows the relay handled, by result: enqueued (a delivery job added), dropped (nothing left to deliver), failed (the queue refused; tried again).",
  labelNames: ["result"] as const,
});

/** Counts what one relay pass did. */
export function countRelayed({ enqueued, dropped, failed }: RelayResult): void {
  if (enqueued > 0) relayed().labels("enqueued").inc(enqueued);
  if (dropped > 0) relayed().labels("dropped").inc(dropped);
  if (failed > 0) relayed().labels("failed").inc(failed);
}

// ---- the flow runs -----------------------------------------------------------------------------------------------------

/** Reads the flow runs' figures at most once per RUN_METRICS_REFRESH_MS; undefined while they cannot be read. */
class RunMetricsReader {
  readonly #db: Pool;
  readonly #failures: OutageLog;
  #reading: Promise<RunMetrics | undefined> | undefined;
  #readAt = 0;
  #inFlight = false;

  constructor(db: Pool, log: Logger) {
    this.#db = db;
    this.#failures = new OutageLog(log, {
      field: "metrics",
      failed: "Could not read the flow runs' figures for the metrics; they are left out until they can be read.",
      recovered: "The flow runs' figures can be read again.",
    });
  }

  current(): Promise<RunMetrics | undefined> {
    if (this.#reading && (this.#inFlight || Date.now() - this.#readAt < RUN_METRICS_REFRESH_MS)) return this.#reading;
    this.#inFlight = true;
    this.#reading = readRunMetrics(this.#db)
      .then(
        (metrics) => {
          this.#failures.recovered("runs");
          return metrics;
        },
        (error: unknown) => {
          this.#failures.failed("runs", error as Error);
          return undefined;
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#readAt = Date.now();
      });
    return this.#reading;
  }
}

/** The readers of the running towels of this process; the gauges read the first. */
const readers = new Set<RunMetricsReader>();

/** A gauge set from the current reading when scraped (no series while there is none). */
function runGauge<L extends string>(name: string, help: string, labelNames: readonly L[], set: (gauge: Gauge<L>, metrics: RunMetrics) => void) {
  return processGauge({
    name,
    help,
    labelNames,
    async collect() {
      const reader = readers.values().next().value;
      const metrics = await reader?.current();
      this.reset();
      if (metrics) set(this, metrics);
    },
  });
}

const setEach = <L extends string>(gauge: Gauge<L>, label: L, counts: Record<string, number>) => {
  for (const [value, count] of Object.entries(counts)) gauge.set({ [label]: value } as Record<L, string>, count);
};

const runGauges = [
  runGauge("prefect_server_flow_runs", "Flow runs in each state outside Finished.", ["state"], (gauge, metrics) => setEach(gauge, "state", metrics.byState)),
  runGauge("prefect_server_flow_runs_finished_last_hour", "Flow runs that entered each finished state within the last hour and are still in it.", ["state"], (gauge, metrics) =>
    setEach(gauge, "state", metrics.finishedRecently),
  ),
  runGauge("prefect_server_flow_runs_due", "Flow runs in a scheduled state whose start time has passed: the agents' queue.", [], (gauge, metrics) => gauge.set(metrics.due)),
  runGauge("prefect_server_flow_runs_late", "Due flow runs whose start time passed more than a minute ago.", [], (gauge, metrics) => gauge.set(metrics.late)),
  runGauge("prefect_server_flow_runs_oldest_due_seconds", "How long ago the start time of the longest-waiting due flow run passed (0: none due).", [], (gauge, metrics) =>
    gauge.set(metrics.oldestDueSeconds),
  ),
  runGauge("prefect_server_flow_run_queue_depth", "Due flow runs per label (runs without labels under an empty label), the 50 labels with the most.", ["label"], (gauge, metrics) => {
    for (const { label, runs } of metrics.queueDepth) gauge.set({ label }, runs);
  }),
  runGauge(
    "prefect_server_flow_runs_heartbeat_stale",
    "Flow runs in Running, Submitted or Cancelling whose heartbeat is over 10 minutes old (what Lazarus and the ZombieKiller act on).",
    ["state"],
    (gauge, metrics) => setEach(gauge, "state", metrics.heartbeatStale),
  ),
];

/** Offers this towel's database to the flow runs' gauges until the returned function is called. */
export function offerRunMetrics(db: Pool, log: Logger): () => void {
  for (const gauge of runGauges) gauge();
  const reader = new RunMetricsReader(db, log);
  readers.add(reader);
  return () => readers.delete(reader);
}

// ---- the listener ------------------------------------------------------------------------------------------------------

/** The towel's HTTP listener: GET /metrics and /health on services.towel.metrics_host / metrics_port. */
export async function listenForMetrics(config: Config, log: Logger): Promise<{ server: Server; address: AddressInfo }> {
  const settings = config.services.towel;
  const routes = new Routes();
  installHealth(routes);
  installMetrics(routes, { authString: config.services.gateway.auth_string });
  const server = createHttpServer(routes, log, serviceHttpOptions(config, "towel", { internal: false, service: "towel" }));
  const address = await listen(server, settings.metrics_port, settings.metrics_host);
  log.info({ host: settings.metrics_host, port: address.port }, "towel metrics listening");
  return { server, address };
}
