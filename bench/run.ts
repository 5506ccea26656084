// Entry point of `make bench` / `make bench-quick`: seeds (once), measures, writes docs/benchmarks.md.
// All load goes to this machine's loopback; every loop is bounded by a fixed duration, and every service the bench
// starts is stopped in the `finally` of the code that started it. On Ctrl-C (SIGINT, SIGTERM, SIGHUP) the e2e
// suite's ManagedProcess (tests/e2e/helpers/processes.ts) kills every service's process group before the bench exits.
import { mkdtempSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { benchDatabaseUrl, openBenchDatabase, type SeedInfo } from "./lib/database.ts";
import { describeMachine } from "./lib/machine.ts";
import type { LoadPlan } from "./lib/measure.ts";
import { renderRun, writeReport, type RunReport } from "./lib/report.ts";
import { RssSampler } from "./lib/rss.ts";
import { buildServices, startApi, stopServices, type ServiceOptions } from "./lib/services.ts";
import type { Measurement, PassTiming, TargetCheck } from "./lib/stats.ts";
import { ensureWrk } from "./lib/wrk.ts";
import { measureCeilings, prepareStateTargets } from "./suites/ceiling.ts";
import { runBigFlow } from "./suites/bigflow.ts";
import { GRAPH_SCALES, prepareDataGraph } from "./suites/datagraph.ts";
import { gatewayOverhead } from "./suites/overhead.ts";
import { measureQueue, prepareQueue, QUEUE_SCALES } from "./suites/queue.ts";
import { measureReads } from "./suites/reads.ts";
import { measureTakeover, TAKEOVER_SCALES } from "./suites/takeover.ts";
import { measureTowel, TOWEL_SCALES } from "./suites/towel.ts";
import { measureBatches } from "./suites/batches.ts";
import { LAYOUT_PLANS, measureLayouts } from "./suites/layouts.ts";
import { measureLimits } from "./suites/limits.ts";
import { measureMetricsCost, METRICS_ROUNDS } from "./suites/metrics.ts";
import { measureOutbox } from "./suites/outbox.ts";
import { measurePrefect3 } from "./suites/prefect3.ts";
import { measurePrune, PRUNE_SCALES } from "./suites/prune.ts";
import { measureWrites } from "./suites/writes.ts";

const SUITES = ["writes", "outbox", "limits", "batches", "reads", "queue", "layouts", "metrics", "prefect3", "towel", "takeover", "prune", "bigflow"] as const;
type Suite = (typeof SUITES)[number];

const program = new Command("bench")
  .description("Prefect Server benchmark suite (bench/README.md)")
  .option("--quick", "smoke run: small data, 8 clients, 1 s per point, no big flow, no Prefect 3 (under a minute)")
  .option("--no-report", "print the results without writing docs/benchmarks.md")
  .option("--only <suites>", `run only these suites (comma-separated: ${SUITES.join(", ")})`)
  .option("--children <n>", "mapped children of the big flow", (value) => Number.parseInt(value, 10), 10_000)
  .option("--cpu-prof", "write a V8 CPU profile of every service to bench/profiles/ (open in Chrome DevTools)")
  .parse();
const options = program.opts<{ quick?: boolean; report: boolean; only?: string; cpuProf?: boolean; children: number }>();
const selected = new Set<Suite>(
  options.only
    ? options.only.split(",").map((name) => {
        if (!(SUITES as readonly string[]).includes(name.trim())) throw new Error(`unknown suite ${name}; known: ${SUITES.join(", ")}`);
        return name.trim() as Suite;
      })
    : SUITES,
);
if (options.quick) selected.delete("bigflow");
// the side-by-side with Prefect 3 installs and starts another server: in a quick run only when asked for by name
if (options.quick && !options.only) selected.delete("prefect3");

interface Plan extends LoadPlan {
  /** Timed repetitions of each towel pass. */
  passRepeats: number;
}
const QUICK: Plan = { clients: [8], seconds: 1, warmupSeconds: 0, passRepeats: 1 };
const FULL: Plan = { clients: [1, 8, 32], seconds: 10, warmupSeconds: 2, passRepeats: 3 };
const plan = options.quick ? QUICK : FULL;
const scale = options.quick ? "quick" : "full";
const dbSuffix = options.quick ? "_quick" : "";
const seedTime = (seed: SeedInfo) => `seeded in ${seed.seconds.toFixed(1)} s on ${seed.seededAt.toISOString().slice(0, 10)}`;

/** The gateway's memory target (issue 6: "gateway RSS ≤ 200 MB at peak", read as MiB). */
const GATEWAY_RSS_MIB = 200;

const startedAt = new Date();
const logDir = mkdtempSync(join(tmpdir(), "prefect-bench-"));
const cpuProfileDir = options.cpuProf ? fileURLToPath(new URL("./profiles/", import.meta.url)) : undefined;
if (cpuProfileDir) await mkdir(cpuProfileDir, { recursive: true });
const serviceOptions = (databaseUrl: string): ServiceOptions => ({
  databaseUrl,
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  queuePrefix: "prefect-bench",
  logDir,
  cpuProfileDir,
});

const sampler = new RssSampler();
const phase = (name: string) => {
  sampler.phase = name;
  console.log(`· ${name}`);
};

const mainUrl = benchDatabaseUrl(dbSuffix);
const pool = await openBenchDatabase(mainUrl);
const report: RunReport = {
  startedAt,
  mode: options.quick ? "quick" : "full",
  command: options.quick ? "make bench-quick" : options.only ? `node bench/run.ts --only ${options.only}` : "make bench",
  machine: await describeMachine(pool),
  seeding: [],
  measurements: [] as Measurement[],
  passes: [] as PassTiming[],
  rss: [],
  checks: [] as TargetCheck[],
  notes: [],
};
try {
  if (["writes", "outbox", "limits", "reads", "queue", "layouts", "metrics", "prune"].some((suite) => selected.has(suite as Suite))) ensureWrk();
  buildServices();

  const apiSuites = (["writes", "outbox", "limits", "batches", "reads", "queue", "layouts"] as const).filter((suite) => selected.has(suite));
  if (apiSuites.length > 0) {
    // data first (seeded once), then the pgbench ceilings of the writes, then the services
    const targets = ["writes", "outbox", "limits", "batches", "layouts"].some((suite) => selected.has(suite as Suite)) ? await prepareStateTargets(pool) : undefined;
    if (targets) report.seeding.push(`state-write targets: 100 Running flow runs × 100 task runs (${targets.seed.seconds.toFixed(1)} s)`);
    const graph = selected.has("reads") || selected.has("layouts") ? await prepareDataGraph(pool, GRAPH_SCALES[scale], (line) => console.log(`  ${line}`)) : undefined;
    if (graph) report.seeding.push(`data graph: ${graph.description} (${seedTime(graph.seed)})`);
    const queue = selected.has("queue") || selected.has("layouts") ? await prepareQueue(pool, QUEUE_SCALES[scale], (line) => console.log(`  ${line}`)) : undefined;
    if (queue) report.seeding.push(`agent queue: ${queue.description} (${seedTime(queue.seed)})`);
    if (targets && selected.has("writes")) {
      phase(`ceilings: pgbench at ${plan.clients.join(", ")} clients, ${plan.seconds} s each`);
      report.measurements.push(...(await measureCeilings(mainUrl, plan)));
    }
    // the layouts suite starts the services its own way
    if (apiSuites.some((suite) => suite !== "layouts")) {
      phase("starting the API (postgraphile, mutations, gateway)");
      const api = await startApi(serviceOptions(mainUrl));
      for (const service of api.all) sampler.watch(service.name, service.process.pid);
      try {
        if (targets && selected.has("writes")) report.measurements.push(...(await measureWrites(api.urls, targets.taskRunIds, plan, phase)));
        if (selected.has("outbox")) {
          const outbox = await measureOutbox(pool, api.urls.mutations, targets!.taskRunIds, serviceOptions(mainUrl), plan, phase);
          report.measurements.push(...outbox.measurements);
          report.notes.push(...outbox.notes);
        }
        if (selected.has("limits")) {
          const mutationsPid = api.all.find((service) => service.name === "mutations")!.process.pid!;
          const limits = await measureLimits(pool, api.urls.mutations, mutationsPid, targets!.taskRunIds, plan, phase);
          report.measurements.push(...limits.measurements);
          report.notes.push(...limits.notes);
        }
        if (selected.has("batches")) report.notes.push(...(await measureBatches(pool, api.urls.mutations, phase)));
        if (graph && selected.has("reads")) report.measurements.push(...(await measureReads(pool, mainUrl, graph, api.urls, plan, phase)));
        if (queue && selected.has("queue")) report.measurements.push(...(await measureQueue(mainUrl, queue, api.urls, plan, phase)));
      } finally {
        for (const service of api.all) sampler.unwatch(service.name);
        await stopServices(api.all);
      }
      report.checks.push(...gatewayOverhead(report.measurements, Math.min(...plan.clients)));
    }
    if (selected.has("layouts")) {
      const layouts = await measureLayouts(pool, graph!, targets!.taskRunIds, queue!, serviceOptions(mainUrl), LAYOUT_PLANS[scale], phase);
      report.measurements.push(...layouts.measurements);
      report.checks.push(...layouts.checks);
      report.notes.push(...layouts.notes);
    }
  }

  if (selected.has("metrics")) {
    const metrics = await measureMetricsCost(pool, serviceOptions(mainUrl), plan, METRICS_ROUNDS[scale], phase);
    report.measurements.push(...metrics.measurements);
    report.checks.push(...metrics.checks);
    report.notes.push(...metrics.notes);
  }

  if (selected.has("prefect3")) {
    const prefect3 = await measurePrefect3(pool, benchDatabaseUrl(`${dbSuffix}_prefect3`), scale, serviceOptions(mainUrl), plan, phase);
    report.seeding.push(...prefect3.seeding);
    report.measurements.push(...prefect3.measurements);
    report.notes.push(...prefect3.notes);
  }

  if (selected.has("towel")) {
    const towelUrl = benchDatabaseUrl(`${dbSuffix}_towel`);
    const towelPool = await openBenchDatabase(towelUrl);
    try {
      const towel = await measureTowel(towelPool, towelUrl, TOWEL_SCALES[scale], plan.passRepeats, serviceOptions(towelUrl), sampler, phase);
      report.seeding.push(`towel: ${towel.description} (${seedTime(towel.seed)})`);
      report.passes.push(...towel.passes);
    } finally {
      await towelPool.end();
    }
  }

  if (selected.has("takeover")) {
    phase("taking over a v1 database");
    const takeover = await measureTakeover(TAKEOVER_SCALES[scale], (line) => console.log(`  ${line}`));
    report.seeding.push(`v1 database: ${takeover.description} (seeded in ${takeover.seedSeconds.toFixed(1)} s)`);
    report.notes.push(
      `Take-over of ${takeover.description} (\`database upgrade\`): ${takeover.totalSeconds.toFixed(1)} s in all, while a ` +
        `writer added a log line and a state to random runs every 20 ms: ${takeover.writes} writes, median ` +
        `${takeover.medianWriteMs.toFixed(1)} ms, slowest ${takeover.slowestWriteMs.toFixed(1)} ms. Steps: ` +
        takeover.steps.map((line) => line.trim()).join("; "),
    );
  }

  if (selected.has("prune")) {
    const prune = await measurePrune(PRUNE_SCALES[scale], plan, dbSuffix, serviceOptions, sampler, phase);
    report.seeding.push(`prune: ${prune.description} (${seedTime(prune.seed)})`);
    report.passes.push(...prune.passes);
    report.measurements.push(...prune.measurements);
    report.notes.push(...prune.notes);
  }

  if (selected.has("bigflow")) {
    const bigflow = await runBigFlow(options.children, benchDatabaseUrl("_bigflow"), serviceOptions(mainUrl).redisUrl, sampler, phase, cpuProfileDir);
    report.notes.push(...bigflow.notes);
    report.checks.push(...bigflow.checks);
  }

  report.rss = sampler.peaks();
  const gatewayPeak = report.rss.find((peak) => peak.service === "gateway");
  if (gatewayPeak) {
    report.checks.push({
      name: "gateway RSS at its peak",
      target: `≤ ${GATEWAY_RSS_MIB} MiB`,
      measured: `${gatewayPeak.peakMiB.toFixed(0)} MiB (during ${gatewayPeak.phase})`,
      met: gatewayPeak.peakMiB <= GATEWAY_RSS_MIB,
    });
  }
  console.log(`\n${renderRun(report)}`);
  if (options.report) {
    const path = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
    await writeReport(path, report);
    console.log(`results written to ${path}`);
  }
  console.log(`service logs: ${logDir}`);
} finally {
  sampler.stop();
  await pool.end();
}
