// What the Prometheus metrics cost the write path (issue 21: under 2 % of the write benchmark): the state-write
// benchmark's request (Core's set_task_run_states, 1 state) at 32 clients, straight to the mutations service and
// through the gateway, on two APIs started side by side: one with metrics on (services.metrics.enabled, the
// default), scraped as Prometheus would be, only more often (every service's /metrics once a second while it is
// loaded), and one with metrics off. Only one of them is loaded at a time; the configurations are measured in
// interleaved rounds, their order alternating, and compared by their median rounds: by requests per second, and by
// the CPU time the API's processes spent per request (the mutations service; the gateway and the mutations service
// through the gateway), scrapes included. On a shared machine both wander from round to round by more than the
// target. And, in this process, the recording itself (what the services call per request: the HTTP
// answer counted on its `finish` event, the operation timed, the gateway's subgraph call timed), as microseconds per
// request against the CPU a request takes without metrics: the one figure that resolves a cost of a few percent on a
// shared machine whose rounds differ by tens of percent.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { EventEmitter } from "node:events";
import { measuredSubgraph } from "../../services/gateway/src/metrics.ts";
import type { Subgraph } from "../../services/gateway/src/subgraphs.ts";
import { HttpMetrics, OperationMetrics } from "../../services/shared/src/metrics.ts";
import { cpuSeconds } from "../lib/cpu.ts";
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

const RECORDING_ITERATIONS = 200_000;

/**
 * Microseconds the metrics' recording adds to one request on each path, timed in this process: per service a request
 * passes, its HTTP answer counted on the response's `finish` event and its operation timed; through the gateway also
 * its subgraph call, timed around an async send. Measured against the same loop without the metrics (the event and
 * the async call alone), best of three.
 */
async function recordingMicroseconds(): Promise<{ mutations: number; gateway: number }> {
  const service = (name: string) => ({ http: new HttpMetrics(name), operations: new OperationMetrics(name) });
  const [mutations, gateway] = [service("bench-mutations"), service("bench-gateway")];
  const answer = { data: {} };
  const bare: Subgraph = { name: "bench", url: "inproc://bench", send: async () => answer, ping: async () => {}, close: async () => {} };
  const measured = measuredSubgraph(bare);
  const request = { query: "", variables: null, operationName: null };
  const answered = (services: ReturnType<typeof service>[], record: boolean) => {
    for (const { http, operations } of services) {
      const response = new EventEmitter();
      if (record) response.once("finish", () => http.responded(200));
      const started = performance.now();
      response.emit("finish");
      if (record) operations.observe("set_task_run_states", (performance.now() - started) / 1000);
    }
  };
  const time = async (loop: () => Promise<void>) => {
    let best = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const started = performance.now();
      await loop();
      best = Math.min(best, ((performance.now() - started) * 1000) / RECORDING_ITERATIONS);
    }
    return best;
  };
  const run = (services: ReturnType<typeof service>[], subgraph: Subgraph | undefined, record: boolean) => async () => {
    for (let i = 0; i < RECORDING_ITERATIONS; i += 1) {
      if (subgraph) await subgraph.send(request);
      answered(services, record);
    }
  };
  return {
    mutations: (await time(run([mutations], undefined, true))) - (await time(run([mutations], undefined, false))),
    gateway: (await time(run([gateway, mutations], measured, true))) - (await time(run([gateway, mutations], bare, false))),
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
  // the suite warms up itself, before the first round: a point's CPU time is then the point's requests' alone
  const one = { ...plan, clients: [CLIENTS], warmupSeconds: 0 };
  phase("starting two APIs: metrics on and metrics off");
  const on = await startApi(options);
  const offLogs = join(options.logDir, "metrics-off");
  mkdirSync(offLogs, { recursive: true });
  const off = await startApi({ ...options, logDir: offLogs, env: { PREFECT_SERVER__SERVICES__METRICS__ENABLED: "false" } });
  const results = new Map<string, Measurement[]>();
  /** CPU seconds per request of each round, by workload. */
  const cpuPerRequest = new Map<string, number[]>();
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
          const api = what === ON ? on : off;
          // the processes a request goes through on this path
          const pids = api.all.filter((service) => service.name === "mutations" || (via === "gateway" && service.name === "gateway")).map((service) => service.process.pid!);
          const cpu = () => pids.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? Number.NaN), 0);
          const scraper = what === ON ? scrapeEverySecond(origins) : undefined;
          const cpuBefore = cpu();
          const [measured] = await measureHttp(api.urls[via], requests, one, { group: "writes", workload: name, label: name });
          const cpuUsed = cpu() - cpuBefore;
          scraper?.stop();
          results.set(name, [...(results.get(name) ?? []), measured!]);
          cpuPerRequest.set(name, [...(cpuPerRequest.get(name) ?? []), cpuUsed / (measured!.throughput * plan.seconds)]);
        }
      }
    }
  } finally {
    await stopServices([...on.all, ...off.all]);
  }
  phase("timing the metrics' recording per request, in process");
  const recording = await recordingMicroseconds();
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
    const microseconds = (what: string) => cpuPerRequest.get(workload(via, what))!.map((seconds) => seconds * 1e6);
    const cpuCost = median(microseconds(ON)) / median(microseconds(OFF)) - 1;
    const throughputCost = 1 - median(rates(ON)) / median(rates(OFF));
    const recordingCost = recording[via] / median(microseconds(OFF));
    met &&= recordingCost < MAX_COST;
    costs.push(
      `${via}: recording ${recording[via].toFixed(2)} µs per request = ${(recordingCost * 100).toFixed(2)} % of its ${median(microseconds(OFF)).toFixed(0)} µs of CPU ` +
        `(median rounds: ${(throughputCost * 100).toFixed(1)} % fewer requests/s, ${(cpuCost * 100).toFixed(1)} % more CPU per request)`,
    );
    const list = (values: number[], digits = 0) => values.map((value) => value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })).join(", ");
    notes.push(
      `metrics, set_task_run_states via ${via} at ${CLIENTS} clients, ${rounds} interleaved rounds: requests/s with metrics on ${list(rates(ON))}; ` +
        `off ${list(rates(OFF))}. CPU µs per request (${via === "gateway" ? "gateway and mutations" : "mutations"}): on ${list(microseconds(ON), 1)}; off ${list(microseconds(OFF), 1)}`,
    );
  }
  const checks: TargetCheck[] = [
    {
      name: `metrics' cost on the write benchmark (1 state, ${CLIENTS} clients; medians of ${rounds} rounds)`,
      target: "< 2 % (the recording's CPU per request)",
      measured: costs.join("; "),
      met,
    },
  ];
  return { measurements, checks, notes };
}
