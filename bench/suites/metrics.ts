// What the Prometheus metrics cost the write path (issue 21: under 2 % of the write benchmark): the state-write
// benchmark's request (Core's set_task_run_states, 1 state) at 32 clients, straight to the mutations service and
// through the gateway, on two APIs started side by side: one with metrics on (services.metrics.enabled, the
// default), scraped as Prometheus would be, only more often (every service's /metrics once a second while it is
// loaded), and one with metrics off. Only one of them is loaded at a time; the configurations are measured in
// interleaved rounds, their order alternating, and compared by their median rounds.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { measureHttp, type LoadPlan } from "../lib/measure.ts";
import { runWrk } from "../lib/wrk.ts";
import { setTaskRunStatesBody } from "../lib/requests.ts";
import { startApi, stopServices, type ServiceOptions } from "../lib/services.ts";
import { median, type Measurement, type TargetCheck } from "../lib/stats.ts";
import { prepareStateTargets } from "./ceiling.ts";

const CLIENTS = 32;
const BODIES = 2_000;
const HEADERS = { "X-PREFECT-CORE-VERSION": "1.4.1" };
/** The most the metrics may cost, as a share of the throughput without them. */
const MAX_COST = 0.02;
const SCRAPE_INTERVAL_MS = 1_000;
const ON = "metrics on, scraped every second";
const OFF = "metrics off";

/** Rounds of the two configurations (two at least, so that each goes first once). */
export const METRICS_ROUNDS: Record<"full" | "quick", number> = { full: 6, quick: 2 };
/** An unrecorded run of each API and path before the first round (JIT, caches, pools), whatever the plan says. */
const WARMUP_SECONDS = 3;

const workload = (via: string, what: string) => `1 state, set_task_run_states via ${via}, ${what}`;

/** GETs every origin's /metrics once per SCRAPE_INTERVAL_MS until stopped; throws on stop if a scrape failed. */
function scrapeEverySecond(origins: string[]): { stop(): void } {
  let failure: string | undefined;
  const timer = setInterval(() => {
    for (const origin of origins) {
      fetch(`${origin}/metrics`, { signal: AbortSignal.timeout(5_000) })
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status !== 200) failure ??= `GET ${origin}/metrics answered ${response.status}`;
        })
        .catch((error: unknown) => (failure ??= `GET ${origin}/metrics failed: ${(error as Error).message}`));
    }
  }, SCRAPE_INTERVAL_MS);
  return {
    stop() {
      clearInterval(timer);
      if (failure) throw new Error(failure);
    },
  };
}

export async function measureMetricsCost(
  pool: pg.Pool,
  options: ServiceOptions,
  plan: LoadPlan,
  rounds: number,
  phase: (name: string) => void,
): Promise<{ measurements: Measurement[]; checks: TargetCheck[]; notes: string[] }> {
  const { taskRunIds } = await prepareStateTargets(pool);
  const requests = taskRunIds.slice(0, BODIES).map((id) => ({ body: setTaskRunStatesBody([id]), headers: HEADERS }));
  const one = { ...plan, clients: [CLIENTS] };
  phase("starting two APIs: metrics on and metrics off");
  const on = await startApi(options);
  const offLogs = join(options.logDir, "metrics-off");
  mkdirSync(offLogs, { recursive: true });
  const off = await startApi({ ...options, logDir: offLogs, env: { PREFECT_SERVER__SERVICES__METRICS__ENABLED: "false" } });
  const results = new Map<string, Measurement[]>();
  try {
    const origins = on.all.map((service) => service.origin!);
    phase("warming up both APIs");
    for (const api of [on, off]) {
      for (const via of ["mutations", "gateway"] as const) await runWrk({ url: api.urls[via], requests, clients: CLIENTS, seconds: WARMUP_SECONDS });
    }
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? [ON, OFF] : [OFF, ON];
      for (const via of ["mutations", "gateway"] as const) {
        for (const what of order) {
          const name = workload(via, what);
          phase(`${name}, round ${round} of ${rounds}`);
          const scraper = what === ON ? scrapeEverySecond(origins) : undefined;
          const [measured] = await measureHttp((what === ON ? on : off).urls[via], requests, one, { group: "writes", workload: name, label: name });
          scraper?.stop();
          results.set(name, [...(results.get(name) ?? []), measured!]);
        }
      }
    }
  } finally {
    await stopServices([...on.all, ...off.all]);
  }
  const measurements: Measurement[] = [];
  const costs: string[] = [];
  const notes: string[] = [];
  let met = true;
  for (const via of ["mutations", "gateway"] as const) {
    const rates = (what: string) => results.get(workload(via, what))!.map((m) => m.throughput);
    // the table shows each configuration's median round, metrics on as a share of metrics off
    for (const what of [OFF, ON]) {
      const sorted = [...results.get(workload(via, what))!].sort((a, b) => a.throughput - b.throughput);
      // (the median's round, as median() picks it: nearest rank)
      measurements.push({ ...sorted[Math.ceil(sorted.length / 2) - 1]!, ceiling: what === ON ? workload(via, OFF) : undefined });
    }
    const cost = 1 - median(rates(ON)) / median(rates(OFF));
    met &&= cost < MAX_COST;
    costs.push(`${via} ${(cost * 100).toFixed(1)} %`);
    const list = (what: string) => rates(what).map((rate) => Math.round(rate).toLocaleString("en-US")).join(", ");
    notes.push(`metrics, set_task_run_states via ${via} at ${CLIENTS} clients (requests/s of ${rounds} interleaved rounds): metrics on ${list(ON)}; off ${list(OFF)}`);
  }
  const checks: TargetCheck[] = [
    { name: `metrics' cost on the write benchmark (1 state, ${CLIENTS} clients; medians of ${rounds} rounds)`, target: "< 2 %", measured: costs.join(", "), met },
  ];
  return { measurements, checks, notes };
}
