// The big-flow scenario with the real client: Prefect Core 1.4.1 (the end-to-end suite's virtualenv and harness,
// tests/e2e) registers bench/flows/big_map.py, a LocalAgent runs it with 10,000 mapped children, and we take the
// wall time of the flow run (its Running → Success on the server) and the server's share of it: the CPU time the
// server's processes (the four services and the Postgres backends serving them) used meanwhile, as a fraction of
// the wall time. Core runs the children one after the other (LocalExecutor), each a few requests, so whatever
// part of the wall time is not the server's is Core's own work and the loopback in between.
// For reference, v1 needed about 380 s for 12,000 mapped task runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Core } from "../../tests/e2e/helpers/core.ts";
import { flowRunIdFrom } from "../../tests/e2e/helpers/runs.ts";
import { startServer, type RunningServer } from "../../tests/e2e/helpers/server.ts";
import { ensureVenv } from "../../tests/e2e/venv.ts";
import { recreateDatabase } from "../lib/database.ts";
import { cpuSeconds } from "../lib/cpu.ts";
import type { RssSampler } from "../lib/rss.ts";
import type { TargetCheck } from "../lib/stats.ts";

const FLOW_FILE = fileURLToPath(new URL("../flows/big_map.py", import.meta.url));
const RUN_TIMEOUT_MS = 30 * 60_000;

interface BigFlowResult {
  notes: string[];
  checks: TargetCheck[];
}

export async function runBigFlow(
  children: number,
  connectionString: string,
  redisUrl: string,
  sampler: RssSampler,
  phase: (name: string) => void,
  cpuProfileDir?: string,
): Promise<BigFlowResult> {
  phase("big flow: Prefect Core virtualenv");
  let venv;
  try {
    venv = await ensureVenv((line) => console.log(`  [venv] ${line}`));
  } catch (error) {
    return { notes: [`Big flow: not run, Prefect Core is not available: ${(error as Error).message}`], checks: [] };
  }
  await recreateDatabase(connectionString);
  const workDir = mkdtempSync(join(tmpdir(), "prefect-bench-bigflow-"));
  let server: RunningServer | undefined;
  let core: Core | undefined;
  let services: { name: string; pid: number }[] = [];
  const db = new pg.Pool({ connectionString, max: 1 });
  try {
    phase("big flow: starting the server");
    // the end-to-end suite's server (all four services, the towel in debug mode), with the production pool size
    server = await startServer({
      databaseUrl: connectionString,
      redisUrl,
      queuePrefix: "prefect-bench-bigflow",
      workDir,
      env: {
        PREFECT_SERVER__DATABASE__POOL_SIZE: "10",
        ...(cpuProfileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfileDir}` } : {}),
      },
    });
    services = Object.entries(server.services).map(([name, process]) => ({ name, pid: process.pid! }));
    for (const { name, pid } of services) sampler.watch(name, pid);
    // Core's default intervals (the end-to-end suite shortens them): cancellation checks every 15 s, logs every 5 s
    core = new Core({
      venv,
      endpoint: server.url,
      workDir,
      env: { PREFECT__CLOUD__CHECK_CANCELLATION_INTERVAL: "15", PREFECT__CLOUD__LOGGING_HEARTBEAT: "5" },
    });
    await core.prefectOk(["server", "create-tenant", "--name", "default"]);
    await core.prefectOk(["create", "project", "bench"]);
    await core.prefectOk(["register", "-p", FLOW_FILE, "--project", "bench"]);
    await core.startAgent();

    phase(`big flow: ${children.toLocaleString("en-US")} mapped children`);
    const created = performance.now();
    const runId = flowRunIdFrom(await core.prefectOk(["run", "--name", "bench-big-map", "--project", "bench", "--param", `n=${children}`]));
    // CPU baselines when the run was created (the agent then picks it up within 10 s: its next poll)
    const state = async () =>
      (await db.query<{ state: string; start_time: Date | null; end_time: Date | null; task_runs: number }>(
        "select state, start_time, end_time, (select count(*)::int from task_run where flow_run_id = $1) as task_runs from flow_run where id = $1",
        [runId],
      )).rows[0]!;
    const backends = async () =>
      (await db.query<{ pid: number }>("select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()")).rows.map((r) => r.pid);
    // the processes alive now count from now; a backend opened later counts from its start (no baseline: 0)
    const baseline = new Map<number, number>();
    for (const pid of [...services.map((s) => s.pid), ...(await backends())]) baseline.set(pid, cpuSeconds(pid) ?? 0);
    let current = await state();
    while (!["Success", "Failed", "Cancelled", "TimedOut"].includes(current.state ?? "")) {
      if (performance.now() - created > RUN_TIMEOUT_MS) throw new Error(`the big flow did not finish within ${RUN_TIMEOUT_MS / 60_000} min (state ${current.state})`);
      await new Promise((done) => setTimeout(done, 1_000));
      current = await state();
    }
    const finished = performance.now();
    const cpu = new Map<string, number>();
    const owners = [...services, ...(await backends()).map((pid) => ({ name: "postgres", pid }))];
    for (const { name, pid } of owners) {
      const now = cpuSeconds(pid);
      if (now !== undefined) cpu.set(name, (cpu.get(name) ?? 0) + now - (baseline.get(pid) ?? 0));
    }
    const serverCpu = [...cpu.values()].reduce((a, b) => a + b, 0);
    const split = [...cpu].map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(", ");
    const wall = (current.end_time!.getTime() - current.start_time!.getTime()) / 1000;
    const total = (finished - created) / 1000;
    // the baselines were taken when the run was created, so the CPU counts from then: share of the whole time
    const share = serverCpu / total;
    return {
      notes: [
        `Big flow (Prefect Core 1.4.1, LocalAgent, LocalExecutor, ${children.toLocaleString("en-US")} mapped children, ` +
          `${current.task_runs.toLocaleString("en-US")} task runs): ${current.state}; the flow run took ${wall.toFixed(1)} s from Running to ` +
          `${current.state} (${total.toFixed(1)} s from its creation, agent pick-up included). The server's processes used ` +
          `${serverCpu.toFixed(1)} CPU-s meanwhile (${split}), ${(100 * share).toFixed(0)} % of the time since its creation; the rest is Core. ` +
          "v1: about 380 s for 12,000 mapped task runs.",
      ],
      checks: [
        {
          name: `big flow: ${children.toLocaleString("en-US")} mapped children through a LocalAgent`,
          target: "v1: ≈ 380 s for 12,000 (reference)",
          measured: `${wall.toFixed(1)} s; server CPU ${(100 * share).toFixed(0)} % of the ${total.toFixed(1)} s since creation`,
          met: current.state === "Success" ? undefined : false,
        },
      ],
    };
  } finally {
    await core?.stopAgents().catch(() => {});
    for (const { name } of services) sampler.unwatch(name);
    await server?.stop().catch((error: unknown) => console.warn(`big flow: stopping the server: ${(error as Error).message}`));
    await db.end();
    console.log(`  big flow logs: ${workDir}`);
  }
}
