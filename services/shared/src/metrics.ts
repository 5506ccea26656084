// Prometheus metrics (prom-client): one registry per process, holding Node's process metrics and what the services
// record into it: their HTTP answers by status, their GraphQL operations (latency and error codes), the usage of
// their database pools; the gateway, the data graph's cluster and the towel add their own (docs/operations.md,
// "Metrics", lists every metric). Several services in one process (tests, the single-process server) share the
// registry; the `service` label tells them apart.
//
// Label values are bounded: operation names come from clients, so a service keeps at most MAX_OPERATIONS of them
// and counts any further one as OTHER; error codes likewise (MAX_ERROR_CODES). A client sending a new operation name
// with every request therefore cannot grow the registry without bound.
//
// What a request costs: the series of an operation (its histogram and its error counters) are looked up in a Map
// of our own, built once per operation; nothing is allocated per request but what prom-client does to observe.
import { Kind, type OperationDefinitionNode } from "graphql";
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from "prom-client";
import type { Config } from "./config.ts";
import type { Pool } from "./database/pool.ts";

/** Where every service serves its metrics. */
export const METRICS_PATH = "/metrics";
/** Most distinct operation labels per service; further operations are counted as OTHER. */
export const MAX_OPERATIONS = 200;
/** Most distinct error codes per service; further codes are counted as OTHER. */
export const MAX_ERROR_CODES = 50;
/** Longest operation label kept; a longer one is cut (GraphQL names have no length limit). */
export const MAX_LABEL_LENGTH = 100;
/** The label of what a cap leaves out. */
export const OTHER = "(other)";
/** The operation label of a document that does not parse or validate (or names no operation it has). */
export const INVALID_OPERATION = "(invalid)";
/** The code label of an error without `extensions.code`. */
export const NO_CODE = "(none)";

/** Latency buckets (seconds) of the request and operation histograms: 1 ms to a minute. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Whether the services record and serve metrics (services.metrics.enabled). */
export const metricsEnabled = (config: Config): boolean => config.services.metrics.enabled;

let registry: Registry | undefined;

/** The process's registry, with Node's process metrics (CPU, memory, event loop lag, GC …), created on first use. */
export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}

/** A metric of the process registry, created the first time it is asked for. */
function processMetric<T>(create: (registers: Registry[]) => T): () => T {
  let metric: T | undefined;
  return () => (metric ??= create([metricsRegistry()]));
}

export const processCounter = <L extends string>(config: Omit<CounterConfiguration<L>, "registers">): (() => Counter<L>) =>
  processMetric((registers) => new Counter({ ...config, registers }));

export const processHistogram = <L extends string>(config: Omit<HistogramConfiguration<L>, "registers">): (() => Histogram<L>) =>
  processMetric((registers) => new Histogram({ ...config, registers }));

export const processGauge = <L extends string>(config: Omit<GaugeConfiguration<L>, "registers">): (() => Gauge<L>) =>
  processMetric((registers) => new Gauge({ ...config, registers }));

/** What a service answers on GET /metrics: the Prometheus text of the process, or of a cluster's processes. */
export type MetricsSource = () => Promise<string>;

export const processMetricsText: MetricsSource = () => metricsRegistry().metrics();

/** The content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

// ---- HTTP answers ------------------------------------------------------------------------------------------------------

const httpResponses = processCounter({
  name: "prefect_server_http_responses_total",
  help: "HTTP responses a service sent, by status code.",
  labelNames: ["service", "status"] as const,
});

const refusedConnections = processCounter({
  name: "prefect_server_http_connections_refused_total",
  help: "Connections answered 503 and closed because the service had services.max_connections open.",
  labelNames: ["service"] as const,
});

/** The HTTP answers of one service (createHttpServer counts them). */
export class HttpMetrics {
  readonly #service: string;
  readonly #byStatus = new Map<number, Counter.Internal>();

  constructor(service: string) {
    this.#service = service;
  }

  responded(status: number): void {
    let counter = this.#byStatus.get(status);
    if (!counter) this.#byStatus.set(status, (counter = httpResponses().labels(this.#service, String(status))));
    counter.inc();
  }

  connectionRefused(): void {
    refusedConnections().labels(this.#service).inc();
  }
}

// ---- GraphQL operations ------------------------------------------------------------------------------------------------

const operationDuration = processHistogram({
  name: "prefect_server_graphql_operation_duration_seconds",
  help: "GraphQL operations a service ran, by operation (its name, or its root fields when it has none), and how long each took.",
  labelNames: ["service", "operation"] as const,
  buckets: LATENCY_BUCKETS,
});

const operationErrors = processCounter({
  name: "prefect_server_graphql_errors_total",
  help: "Errors in the answers to GraphQL operations, by operation and error code (extensions.code).",
  labelNames: ["service", "operation", "code"] as const,
});

/** An error of a GraphQL answer, as far as the metrics read it. */
export interface AnsweredError {
  extensions?: { code?: unknown } | null;
}

interface OperationSeries {
  label: string;
  duration: Histogram.Internal<"service" | "operation">;
  errors: Map<string, Counter.Internal>;
}

/** A label from a client: at most MAX_LABEL_LENGTH characters. */
const bounded = (label: string) => (label.length > MAX_LABEL_LENGTH ? label.slice(0, MAX_LABEL_LENGTH) : label);

/**
 * `text` as a string of its own. A name taken from a parsed document is a slice of the document's text, and V8 keeps
 * the whole text alive as long as a slice of it lives: a label kept for the process's life must not keep a request.
 */
const detached = (text: string): string => JSON.parse(JSON.stringify(text)) as string;

/** The GraphQL operations of one service: each one's latency, and the error codes of its answers. */
export class OperationMetrics {
  readonly #service: string;
  readonly #operations = new Map<string, OperationSeries>();
  readonly #codes = new Set<string>();
  #other: OperationSeries | undefined;

  constructor(service: string) {
    this.#service = service;
  }

  /** One operation answered after `seconds`, with these errors (none: a success). */
  observe(operation: string, seconds: number, errors?: readonly AnsweredError[] | null): void {
    const series = this.#series(operation);
    series.duration.observe(seconds);
    if (!errors) return;
    for (const error of errors) {
      const code = this.#code(error.extensions?.code);
      let counter = series.errors.get(code);
      if (!counter) series.errors.set(code, (counter = operationErrors().labels(this.#service, series.label, code)));
      counter.inc();
    }
  }

  #series(operation: string): OperationSeries {
    // kept by the label, not the name: a client's names may be megabytes long
    const label = bounded(operation);
    const known = this.#operations.get(label);
    if (known) return known;
    if (this.#operations.size >= MAX_OPERATIONS) return (this.#other ??= this.#newSeries(OTHER));
    const series = this.#newSeries(detached(label));
    this.#operations.set(series.label, series);
    return series;
  }

  #newSeries(label: string): OperationSeries {
    return { label, duration: operationDuration().labels(this.#service, label), errors: new Map() };
  }

  #code(code: unknown): string {
    if (typeof code !== "string" || code === "") return NO_CODE;
    const label = bounded(code);
    if (this.#codes.has(label)) return label;
    if (this.#codes.size >= MAX_ERROR_CODES) return OTHER;
    this.#codes.add(label);
    return label;
  }
}

const labels = new WeakMap<OperationDefinitionNode, string>();

/**
 * An operation's label: its name, or for an anonymous operation (Prefect Core names none) its root fields, joined
 * by commas (`set_task_run_states`, `flow_run,task_run`; fragment spreads at the root by their fragment names).
 * Remembered per parsed operation (the servers parse a document once and reuse it).
 */
export function operationLabel(operation: OperationDefinitionNode | null | undefined): string {
  if (!operation) return INVALID_OPERATION;
  let label = labels.get(operation);
  if (label === undefined) {
    label =
      operation.name?.value ??
      operation.selectionSet.selections
        .map((selection) => (selection.kind === Kind.FIELD || selection.kind === Kind.FRAGMENT_SPREAD ? selection.name.value : "…"))
        .join(",");
    labels.set(operation, label);
  }
  return label;
}

// ---- database pools ----------------------------------------------------------------------------------------------------

const pools = new Set<{ name: string; pool: Pool }>();

/** The pools still open; ended ones are forgotten. */
function openPools(): { name: string; pool: Pool }[] {
  for (const entry of pools) if (entry.pool.ending || entry.pool.ended) pools.delete(entry);
  return [...pools];
}

/** Sums a pool figure per pool name (several pools may share a name: two services of one kind in a process). */
function poolGauge(name: string, help: string, labelNames: readonly ("pool" | "state")[], set: (gauge: Gauge<"pool" | "state">, pool: Pool, label: string) => void) {
  return processGauge({
    name,
    help,
    labelNames,
    collect() {
      this.reset();
      for (const { name: label, pool } of openPools()) set(this, pool, label);
    },
  });
}

const poolMetrics = [
  poolGauge("prefect_server_db_pool_connections", "Open connections of a database pool, idle or in use.", ["pool", "state"], (gauge, pool, label) => {
    gauge.inc({ pool: label, state: "idle" }, pool.idleCount);
    gauge.inc({ pool: label, state: "in_use" }, pool.totalCount - pool.idleCount);
  }),
  poolGauge("prefect_server_db_pool_max_connections", "Most connections a database pool opens.", ["pool"], (gauge, pool, label) => {
    gauge.inc({ pool: label }, pool.options.max ?? 10); // (pg's default)
  }),
  poolGauge("prefect_server_db_pool_waiting", "Requests waiting for a connection of a database pool.", ["pool"], (gauge, pool, label) => {
    gauge.inc({ pool: label }, pool.waitingCount);
  }),
];

/** Reports a pool's usage under `name` until it is ended (while metrics are enabled). */
export function trackPool(config: Config, name: string, pool: Pool): void {
  if (!metricsEnabled(config)) return;
  for (const metric of poolMetrics) metric();
  openPools();
  pools.add({ name, pool });
}
