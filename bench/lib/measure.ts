// One workload measured at each concurrency level of the plan: as SQL through pgbench, or as HTTP through wrk.
import { runPgbench } from "./pgbench.ts";
import { graphql } from "./services.ts";
import type { Measurement, Target } from "./stats.ts";
import { runWrk, type WrkRequest } from "./wrk.ts";

export interface LoadPlan {
  clients: number[];
  /** Seconds per measured point (each workload × clients). */
  seconds: number;
  /** An unrecorded run before the first point (JIT, caches, pools); HTTP only. */
  warmupSeconds: number;
}

/** What the rows of a workload say about it. */
interface Workload {
  group: string;
  workload: string;
  label: string;
  /** The workload whose items/s are 100 % for this one (same clients). */
  ceiling?: string;
  /** Work items per operation (e.g. 50 states per request). */
  items?: number;
  /** The target that applies at these clients, if any. */
  target?: (clients: number) => Target | undefined;
}

function row(workload: Workload, clients: number, throughput: number, p50Ms: number, p99Ms: number, errors?: number): Measurement {
  return {
    group: workload.group,
    workload: workload.workload,
    label: workload.label,
    clients,
    throughput,
    itemsPerSecond: throughput * (workload.items ?? 1),
    p50Ms,
    p99Ms,
    ceiling: workload.ceiling,
    target: workload.target?.(clients),
    errors,
  };
}

/** A pgbench script at every concurrency level (`prepared`: as a named statement, planned once per connection). */
export async function measureSql(
  connectionString: string,
  script: string,
  plan: LoadPlan,
  workload: Workload,
  options: { prepared?: boolean } = {},
): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (const clients of plan.clients) {
    const result = await runPgbench({ connectionString, clients, seconds: plan.seconds, script, prepared: options.prepared });
    measurements.push(row(workload, clients, result.transactionsPerSecond, result.p50Ms, result.p99Ms));
  }
  return measurements;
}

/**
 * A pool of GraphQL requests POSTed by wrk at every concurrency level, after checking by hand that the first one
 * succeeds (the bench must measure successful requests) and a warm-up.
 */
export async function measureHttp(url: string, requests: WrkRequest[], plan: LoadPlan, workload: Workload): Promise<Measurement[]> {
  await graphql(url, requests[0]!.body, requests[0]!.headers);
  if (plan.warmupSeconds > 0) await runWrk({ url, requests, clients: Math.min(8, Math.max(...plan.clients)), seconds: plan.warmupSeconds });
  const measurements: Measurement[] = [];
  for (const clients of plan.clients) {
    const result = await runWrk({ url, requests, clients, seconds: plan.seconds });
    if (result.errors) console.warn(`${workload.workload} @ ${clients}: ${result.errors} failed requests, the first: ${result.firstError}`);
    measurements.push(row(workload, clients, result.requestsPerSecond, result.p50Ms, result.p99Ms, result.errors));
  }
  return measurements;
}
