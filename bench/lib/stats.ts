// Latency statistics for the benchmark tables.

export interface Measurement {
  workload: string;
  /** Concurrent clients (connections) driving the load. */
  clients: number;
  /** Operations per second (requests, or transactions for pgbench). */
  throughput: number;
  /** Work items per second when one operation carries several (e.g. states per second for a 50-state batch). */
  itemsPerSecond?: number;
  p50Ms: number;
  p99Ms: number;
  /** Name of the ceiling this measurement is compared with, if any. */
  ceiling?: string;
  /** Target from the issues, as text (e.g. "≥ 70 % of ceiling"). */
  target?: string;
}

/** The q-quantile (0..1) of already sorted values, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}
