// The two ways to run the server side by side (issue 21): the distributed layout (postgraphile with its workers,
// mutations, the gateway composing them over HTTP, the towel: four services, six processes) and the single process
// (`services all`, as `start --single-process` runs it). For each, in alternating rounds: the resident memory once
// started and idle, its peak under a mixed workload through the gateway (Core's state writes and reads, the UI's
// dashboard and flow-run table, agents polling, all at once), the memory once the load stopped, and the throughput
// of every part of the mix.
import type pg from "pg";
import { setTaskRunStatesBody, coreBody, GET_RUNS_IN_QUEUE } from "../lib/requests.ts";
import { RssSampler } from "../lib/rss.ts";
import { startApi, startService, startSingleProcess, stopServices, type ServiceOptions } from "../lib/services.ts";
import { median, type Measurement, type TargetCheck } from "../lib/stats.ts";
import { runWrk, type WrkRequest } from "../lib/wrk.ts";
import type { DataGraph } from "./datagraph.ts";
import { BY_PK_INLINE, DASHBOARD, readWorkloads, TABLE_PAGE } from "./reads.ts";
import type { QueueData } from "./queue.ts";

/** Issue 21's memory targets (MiB). */
const SINGLE_IDLE_MIB = 300;
const SINGLE_PEAK_MIB = 400;
const DISTRIBUTED_PROCESS_PEAK_MIB = 256;

export interface LayoutPlan {
  /** Rounds per layout, alternating (distributed, single, distributed, …). */
  rounds: number;
  /** Seconds the mixed workload runs. */
  seconds: number;
  /** Seconds a started server is left alone before its idle memory is read, and after the load before the last read. */
  settleSeconds: number;
}

export const LAYOUT_PLANS: Record<"full" | "quick", LayoutPlan> = {
  full: { rounds: 2, seconds: 30, settleSeconds: 20 },
  quick: { rounds: 1, seconds: 2, settleSeconds: 1 },
};

type Layout = "distributed" | "single process";

interface Part {
  name: string;
  clients: number;
  requests: WrkRequest[];
}

interface RoundResult {
  layout: Layout;
  idleMiB: number;
  peakMiB: number;
  afterMiB: number;
  /** The highest RSS of any one process during the round. */
  largestProcessMiB: number;
  /** Per service (process tree): idle and peak MiB. */
  services: { name: string; idleMiB: number; peakMiB: number; largestProcessMiB: number }[];
  throughput: Map<string, { rps: number; p50Ms: number; p99Ms: number; errors: number }>;
}

const sleep = (seconds: number) => new Promise((done) => setTimeout(done, seconds * 1000));

async function mixedWorkload(pool: pg.Pool, graph: DataGraph, taskRunIds: string[], queue: QueueData): Promise<Part[]> {
  const reads = new Map((await readWorkloads(pool, graph)).map((workload) => [workload.name, workload.requests]));
  const before = new Date(Date.now() + 3_600_000).toISOString();
  const poll = coreBody(GET_RUNS_IN_QUEUE, { input: { before, labels: ["bench-queue", "host-bench"], tenant_id: queue.tenantId } });
  const core = { "X-PREFECT-CORE-VERSION": "1.4.1" };
  return [
    {
      name: "Core: set_task_run_states, 1 state",
      clients: 8,
      requests: Array.from({ length: 2_000 }, () => ({ body: setTaskRunStatesBody([taskRunIds[Math.floor(Math.random() * taskRunIds.length)]!]), headers: core })),
    },
    { name: `Core: ${BY_PK_INLINE}`, clients: 8, requests: reads.get(BY_PK_INLINE)! },
    { name: `UI: ${DASHBOARD}`, clients: 2, requests: reads.get(DASHBOARD)! },
    { name: `UI: ${TABLE_PAGE}`, clients: 2, requests: reads.get(TABLE_PAGE)! },
    { name: "agent: get_runs_in_queue", clients: 2, requests: [{ body: poll, headers: { ...core, "X-PREFECT-AGENT-ID": queue.agentId } }] },
  ];
}

/** Starts a layout; resolves to the gateway's URL, the processes to sample (name → pid) and a stop function. */
async function startLayout(layout: Layout, options: ServiceOptions): Promise<{ url: string; pids: Map<string, number>; stop(): Promise<void> }> {
  if (layout === "single process") {
    const server = await startSingleProcess(options);
    return { url: `${server.origin}/`, pids: new Map([[server.name, server.process.pid!]]), stop: () => stopServices([server]) };
  }
  const api = await startApi(options);
  try {
    const towel = await startService("towel", options);
    const all = [...api.all, towel];
    return { url: api.urls.gateway, pids: new Map(all.map((service) => [service.name, service.process.pid!])), stop: () => stopServices(all) };
  } catch (error) {
    await stopServices(api.all);
    throw error;
  }
}

async function round(layout: Layout, parts: Part[], options: ServiceOptions, plan: LayoutPlan, phase: (name: string) => void): Promise<RoundResult> {
  phase(`layouts: ${layout}, starting`);
  const running = await startLayout(layout, options);
  const sampler = new RssSampler();
  try {
    for (const [name, pid] of running.pids) sampler.watch(name, pid);
    await sleep(plan.settleSeconds);
    const idle = new Map([...running.pids.keys()].map((name) => [name, sampler.current(name)?.totalMiB ?? 0]));
    phase(`layouts: ${layout}, mixed workload (${plan.seconds} s)`);
    sampler.phase = "mixed workload";
    const results = await Promise.all(parts.map((part) => runWrk({ url: running.url, requests: part.requests, clients: part.clients, seconds: plan.seconds })));
    sampler.phase = "after";
    await sleep(plan.settleSeconds);
    const after = [...running.pids.keys()].reduce((sum, name) => sum + (sampler.current(name)?.totalMiB ?? 0), 0);
    const peaks = sampler.peaks();
    const services = [...running.pids.keys()].map((name) => {
      const peak = peaks.find((p) => p.service === name);
      return { name, idleMiB: idle.get(name) ?? 0, peakMiB: peak?.peakMiB ?? 0, largestProcessMiB: peak?.largestProcessMiB ?? 0 };
    });
    return {
      layout,
      idleMiB: services.reduce((sum, s) => sum + s.idleMiB, 0),
      // the services peak at different moments; their peaks' sum bounds what the layout held at once
      peakMiB: services.reduce((sum, s) => sum + s.peakMiB, 0),
      afterMiB: after,
      largestProcessMiB: Math.max(...services.map((s) => s.largestProcessMiB)),
      services,
      throughput: new Map(parts.map((part, i) => [part.name, { rps: results[i]!.requestsPerSecond, p50Ms: results[i]!.p50Ms, p99Ms: results[i]!.p99Ms, errors: results[i]!.errors }])),
    };
  } finally {
    sampler.stop();
    await running.stop();
  }
}

const mib = (value: number) => `${value.toFixed(0)} MiB`;

export async function measureLayouts(
  pool: pg.Pool,
  graph: DataGraph,
  taskRunIds: string[],
  queue: QueueData,
  options: ServiceOptions,
  plan: LayoutPlan,
  phase: (name: string) => void,
): Promise<{ measurements: Measurement[]; checks: TargetCheck[]; notes: string[] }> {
  const parts = await mixedWorkload(pool, graph, taskRunIds, queue);
  const rounds: RoundResult[] = [];
  for (let i = 0; i < plan.rounds; i++) {
    for (const layout of ["distributed", "single process"] as const) rounds.push(await round(layout, parts, options, plan, phase));
  }
  const of = (layout: Layout) => rounds.filter((r) => r.layout === layout);
  const measurements: Measurement[] = [];
  for (const part of parts) {
    for (const layout of ["distributed", "single process"] as const) {
      const figures = of(layout).map((r) => r.throughput.get(part.name)!);
      const rps = median(figures.map((f) => f.rps));
      measurements.push({
        group: "layouts: the mixed workload through the gateway, all parts at once (median of rounds)",
        workload: `${part.name} · ${layout}`,
        label: layout,
        clients: part.clients,
        throughput: rps,
        p50Ms: median(figures.map((f) => f.p50Ms)),
        p99Ms: median(figures.map((f) => f.p99Ms)),
        ceiling: layout === "single process" ? `${part.name} · distributed` : undefined,
        errors: figures.reduce((sum, f) => sum + f.errors, 0) || undefined,
      });
    }
  }
  const worst = (layout: Layout, key: "idleMiB" | "peakMiB" | "afterMiB" | "largestProcessMiB") => Math.max(...of(layout).map((r) => r[key]));
  const checks: TargetCheck[] = [
    { name: "single process: RSS idle", target: `≤ ${SINGLE_IDLE_MIB} MiB`, measured: mib(worst("single process", "idleMiB")), met: worst("single process", "idleMiB") <= SINGLE_IDLE_MIB },
    {
      name: "single process: RSS at peak (mixed workload)",
      target: `≤ ${SINGLE_PEAK_MIB} MiB`,
      measured: mib(worst("single process", "peakMiB")),
      met: worst("single process", "peakMiB") <= SINGLE_PEAK_MIB,
    },
    {
      name: "distributed: largest process at peak (mixed workload)",
      target: `≤ ${DISTRIBUTED_PROCESS_PEAK_MIB} MiB`,
      measured: mib(worst("distributed", "largestProcessMiB")),
      met: worst("distributed", "largestProcessMiB") <= DISTRIBUTED_PROCESS_PEAK_MIB,
    },
  ];
  const notes = rounds.map(
    (r, i) =>
      `Layouts, round ${Math.floor(i / 2) + 1}, ${r.layout}: RSS idle ${mib(r.idleMiB)}, peak ${mib(r.peakMiB)} (largest process ` +
      `${mib(r.largestProcessMiB)}), ${plan.settleSeconds} s after the load ${mib(r.afterMiB)}; per service, idle → peak (largest process): ` +
      r.services.map((s) => `${s.name} ${s.idleMiB.toFixed(0)} → ${s.peakMiB.toFixed(0)} (${s.largestProcessMiB.toFixed(0)})`).join(", ") +
      ".",
  );
  return { measurements, checks, notes };
}
