// What a run measures, and the targets from the issues it is judged against.

/** A target: its text as the issues put it, and how a figure is checked against it. */
export type Target =
  | { text: string; kind: "ratio"; min: number }
  | { text: string; kind: "throughput"; min: number }
  | { text: string; kind: "p50"; maxMs: number };

export interface Measurement {
  /** The table this row goes to ("writes", "reads", "queue"). */
  group: string;
  workload: string;
  /** A short name for it where other rows are a share of it ("raw SQL", "postgraphile" …). */
  label?: string;
  /** Concurrent clients (connections) driving the load. */
  clients: number;
  /** Operations per second (requests, or transactions for pgbench). */
  throughput: number;
  /** Work items per second when one operation carries several (e.g. states per second for a 50-state batch). */
  itemsPerSecond?: number;
  p50Ms: number;
  p99Ms: number;
  /** The workload (at the same number of clients) whose items/s count as 100 % for this one, if any. */
  ceiling?: string;
  target?: Target;
  /** Failed requests (HTTP errors, GraphQL errors, socket errors); a run with errors is not a result. */
  errors?: number;
}

/** One timed towel pass (or a series of them). */
export interface PassTiming {
  pass: string;
  /** What it ran over, e.g. "10,000 active flows". */
  data: string;
  /** What one pass did, e.g. "100,000 runs created". */
  work: string;
  /** Seconds of each repetition. */
  seconds: number[];
  /** Target in seconds (upper bound). */
  maxSeconds?: number;
}

/** The figure a target is checked on, e.g. the gateway's p50 overhead; `met` undefined when it was not measured. */
export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** The q-quantile (0..1) of already sorted values, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

/** The ceiling of a measurement among `all` (same ceiling workload, same clients). */
export function ceilingOf(measurement: Measurement, all: Measurement[]): Measurement | undefined {
  if (!measurement.ceiling) return undefined;
  return all.find((m) => m.workload === measurement.ceiling && m.clients === measurement.clients);
}

/** items/s of a measurement as a share of its ceiling's (0..1), if it has one. */
export function ratioOf(measurement: Measurement, all: Measurement[]): number | undefined {
  const ceiling = ceilingOf(measurement, all);
  if (!ceiling) return undefined;
  return (measurement.itemsPerSecond ?? measurement.throughput) / (ceiling.itemsPerSecond ?? ceiling.throughput);
}

/** Whether a measurement meets its target (undefined without one). */
export function meets(measurement: Measurement, all: Measurement[]): boolean | undefined {
  const target = measurement.target;
  if (!target) return undefined;
  if (measurement.errors) return false;
  switch (target.kind) {
    case "ratio": {
      const ratio = ratioOf(measurement, all);
      return ratio === undefined ? undefined : ratio >= target.min;
    }
    case "throughput":
      return measurement.throughput >= target.min;
    case "p50":
      return measurement.p50Ms <= target.maxMs;
  }
}
