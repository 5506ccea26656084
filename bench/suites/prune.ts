// Retention (docs/operations.md, "Retention"): `prefect-server database prune` (the domain's runRetention, in batches
// on one connection, as the CLI runs it) over 1,000,000 finished flow runs 30 to 130 days old, each with 3 states, 2
// task runs of 2 states each, an artifact on every tenth run, and 10 log lines (half of them of a task run):
// 10,000,000 logs. Two timed phases, each a full one-shot prune of one rule: the log rule (logs older than 30 days:
// every seeded log, through the log index), then the run rule (finished runs older than 30 days, with all their rows).
// Each phase gives its rows per second per kind; meanwhile wrk sends set_task_run_states (1 state per request, as
// Core sends it) to the mutations service on the state-write targets, and its throughput is compared with the same
// load before and after the prune.
//
// The data is seeded once into prefect_bench_prune_seed (resumable chunks of 50,000 runs, set-based, triggers and
// foreign-key checks off, rows as the triggers would have left them, `updated` set to the rows' age); every run
// copies it (CREATE DATABASE … TEMPLATE) into prefect_bench_prune, prunes the copy and drops it.
// (The take-over suite's v1 database has 10 M logs too, but its rows' `updated`, which retention reads, is the time
// of its seeding, its task runs have no states, and it is seeded in one piece.)
import type pg from "pg";
import { withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";
import { createPool } from "../../services/shared/src/database/pool.ts";
import { describeRemovedRows, runRetention, type RemovedRows, type RetentionRules } from "../../services/domain/src/towel/retention.ts";
import { benchDatabaseUrl, openBenchDatabase, seededId, seedInChunks, type SeedInfo } from "../lib/database.ts";
import { measureHttp, type LoadPlan } from "../lib/measure.ts";
import { setTaskRunStatesBody } from "../lib/requests.ts";
import type { RssSampler } from "../lib/rss.ts";
import { startService, stopServices, type ServiceOptions } from "../lib/services.ts";
import { median, type Measurement, type PassTiming } from "../lib/stats.ts";
import { runWrk, type WrkRequest } from "../lib/wrk.ts";
import { prepareStateTargets } from "./ceiling.ts";

export interface PruneScale {
  flowRuns: number;
}

export const PRUNE_SCALES = { full: { flowRuns: 1_000_000 }, quick: { flowRuns: 10_000 } } as const;

const FLOWS = 100;
const TASK_RUNS_PER_RUN = 2;
const LOGS_PER_RUN = 10;
const CHUNK_RUNS = 50_000;
/** Seeded rows are this many days old and up to SPREAD_DAYS more; both rules prune at this age. */
const AGE_DAYS = 30;
const SPREAD_DAYS = 100;
const CLIENTS = 32;
const BODIES = 2_000;
const TENANT = "md5('bench-prune-tenant')::uuid";
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const id = (kind: string, ...parts: string[]) => seededId(`prune-${kind}`, ...parts);

const SETUP_SQL = `
  insert into tenant (id, name, slug) values (${TENANT}, 'bench prune', 'bench-prune');
  insert into project (id, tenant_id, name) values (${id("project", "'p'")}, ${TENANT}, 'prune');
  insert into flow_group (id, tenant_id, name) select ${id("group", "f::text")}, ${TENANT}, 'prune-' || f from generate_series(0, ${FLOWS - 1}) f;
  insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id)
  select ${id("flow", "f::text")}, ${TENANT}, ${id("project", "'p'")}, ${id("group", "f::text")}, 'prune-' || f, 1, 'prune-' || f
  from generate_series(0, ${FLOWS - 1}) f;
  insert into task (id, tenant_id, flow_id, name, slug)
  select ${id("task", "f::text", "k::text")}, ${TENANT}, ${id("flow", "f::text")}, 'task-' || k, 'task-' || k
  from generate_series(0, ${FLOWS - 1}) f, generate_series(1, ${TASK_RUNS_PER_RUN}) k;`;

/** Flow runs lo..hi (1-based), the newest AGE_DAYS old, the oldest AGE_DAYS + SPREAD_DAYS, with all their rows. */
function chunkSql(scale: PruneScale, lo: number, hi: number): string {
  const n = scale.flowRuns;
  const taskRun = id("task-run", "run.n::text", "k::text");
  return `
    set local session_replication_role = replica;
    create temp table run on commit drop as
    select n, ${id("run", "n::text")} as id, n % ${FLOWS} as f,
           now() - interval '${AGE_DAYS} days' - interval '${SPREAD_DAYS} days' * (${n} - n)::float8 / ${n} as at
    from generate_series(${lo}, ${hi}) n;
    insert into flow_run (id, tenant_id, flow_id, name, version, state, serialized_state, state_timestamp, state_message,
                          scheduled_start_time, start_time, end_time, heartbeat, created, updated)
    select id, ${TENANT}, ${id("flow", "f::text")}, 'prune-run-' || n, 3, 'Success',
           '{"type": "Success", "message": "All reference tasks finished."}'::jsonb, at, 'All reference tasks finished.',
           at - interval '2 minutes', at - interval '1 minute', at, at, at - interval '2 minutes', at
    from run;
    insert into flow_run_state (tenant_id, flow_run_id, "timestamp", state, message, serialized_state, version, created, updated)
    select ${TENANT}, run.id, run.at - s.before, s.state, s.state, jsonb_build_object('type', s.state), s.version, run.at - s.before, run.at - s.before
    from run, (values (1, 'Scheduled', interval '2 minutes'), (2, 'Running', interval '1 minute'), (3, 'Success', interval '0')) s (version, state, before);
    insert into task_run (id, tenant_id, flow_run_id, task_id, version, state, serialized_state, state_timestamp, start_time, end_time, created, updated)
    select ${taskRun}, ${TENANT}, run.id, ${id("task", "run.f::text", "k::text")}, 2, 'Success', '{"type": "Success"}'::jsonb,
           run.at, run.at - interval '1 minute', run.at, run.at - interval '2 minutes', run.at
    from run, generate_series(1, ${TASK_RUNS_PER_RUN}) k;
    insert into task_run_state (tenant_id, task_run_id, "timestamp", state, message, serialized_state, version, created, updated)
    select ${TENANT}, ${taskRun}, run.at - s.before, s.state, s.state, jsonb_build_object('type', s.state), s.version, run.at - s.before, run.at - s.before
    from run, generate_series(1, ${TASK_RUNS_PER_RUN}) k, (values (1, 'Running', interval '1 minute'), (2, 'Success', interval '0')) s (version, state, before);
    insert into task_run_artifact (tenant_id, task_run_id, kind, data, created, updated)
    select ${TENANT}, ${id("task-run", "run.n::text", "'1'")}, 'markdown', '{"markdown": "# report"}'::jsonb, run.at, run.at
    from run where run.n % 10 = 0;
    insert into log (tenant_id, flow_run_id, task_run_id, "timestamp", name, level, message, created, updated)
    select ${TENANT}, run.id, case when j > ${LOGS_PER_RUN / 2} then ${id("task-run", "run.n::text", `(1 + j % ${TASK_RUNS_PER_RUN})::text`)} end,
           run.at - (${LOGS_PER_RUN} - j) * interval '5 seconds',
           case when j > ${LOGS_PER_RUN / 2} then 'prefect.CloudTaskRunner' else 'prefect.CloudFlowRunner' end, 'INFO',
           'Task ''task'': Finished task run for task with final state: ''Success''',
           run.at - (${LOGS_PER_RUN} - j) * interval '5 seconds', run.at - (${LOGS_PER_RUN} - j) * interval '5 seconds'
    from run, generate_series(1, ${LOGS_PER_RUN}) j;`;
}

/** Seeds the template once (and its state-write targets); returns when it was seeded. */
async function seedTemplate(url: string, scale: PruneScale, progress: (line: string) => void): Promise<SeedInfo> {
  const pool = await openBenchDatabase(url);
  try {
    const chunks = Math.ceil(scale.flowRuns / CHUNK_RUNS);
    const seed = await seedInChunks(
      pool,
      `prune-${scale.flowRuns}-runs`,
      chunks,
      async (client, chunk) => {
        if (chunk === 0) await client.query(SETUP_SQL);
        await client.query(chunkSql(scale, chunk * CHUNK_RUNS + 1, Math.min((chunk + 1) * CHUNK_RUNS, scale.flowRuns)));
      },
      progress,
    );
    await prepareStateTargets(pool);
    return seed;
  } finally {
    await pool.end();
  }
}

/** A fresh copy of the template (a file copy where Postgres has it: the data set is large). */
async function copyDatabase(template: string, copy: string): Promise<void> {
  const name = (url: string) => new URL(url).pathname.slice(1);
  await withClient(withDatabase(template, "postgres"), async (client) => {
    const { rows } = await client.query<{ version: number }>("select current_setting('server_version_num')::int as version");
    await client.query(`drop database if exists "${name(copy)}" with (force)`);
    await client.query(`create database "${name(copy)}" template "${name(template)}"${rows[0]!.version >= 150_000 ? " strategy file_copy" : ""}`);
  });
}

async function dropCopy(copy: string): Promise<void> {
  await withClient(withDatabase(copy, "postgres"), (client) => client.query(`drop database if exists "${new URL(copy).pathname.slice(1)}" with (force)`));
}

interface Phase {
  removed: RemovedRows;
  batches: number;
  seconds: number;
  /** The write load's points that ran entirely inside the phase. */
  points: Awaited<ReturnType<typeof runWrk>>[];
}

/** Runs a one-shot prune, and wrk points back to back until it has finished. */
async function prunePhase(url: string, rules: RetentionRules, mutationsUrl: string, requests: WrkRequest[], seconds: number): Promise<Phase> {
  const db = createPool(url, 1);
  let done = false;
  const started = performance.now();
  const pruning = runRetention(db, rules).finally(() => (done = true));
  const points: Phase["points"] = [];
  try {
    while (!done) {
      const point = await runWrk({ url: mutationsUrl, requests, clients: CLIENTS, seconds });
      if (!done) points.push(point);
    }
    const result = await pruning;
    return { removed: result.removed, batches: result.batches, seconds: (performance.now() - started) / 1000, points };
  } finally {
    await pruning.catch(() => {});
    await db.end();
  }
}

export interface PruneResult {
  description: string;
  seed: SeedInfo;
  passes: PassTiming[];
  measurements: Measurement[];
  notes: string[];
}

export async function measurePrune(
  scale: PruneScale,
  plan: LoadPlan,
  dbSuffix: string,
  serviceOptions: (databaseUrl: string) => ServiceOptions,
  sampler: RssSampler,
  phase: (name: string) => void,
): Promise<PruneResult> {
  const template = benchDatabaseUrl(`${dbSuffix}_prune_seed`);
  const copy = benchDatabaseUrl(`${dbSuffix}_prune`);
  const seed = await seedTemplate(template, scale, (line) => console.log(`  ${line}`));
  phase("prune: copying the seeded database");
  await copyDatabase(template, copy);
  const pool: pg.Pool = await openBenchDatabase(copy);
  try {
    const { taskRunIds } = await prepareStateTargets(pool);
    await pool.query("checkpoint");
    const mutations = await startService("mutations", serviceOptions(copy), { PREFECT_SERVER__SERVICES__MUTATIONS__PORT: "0" });
    sampler.watch("mutations", mutations.process.pid);
    try {
      const url = `${mutations.origin}/graphql/`;
      const requests = Array.from({ length: BODIES }, () => ({
        body: setTaskRunStatesBody([taskRunIds[Math.floor(Math.random() * taskRunIds.length)]!]),
        headers: { "X-PREFECT-CORE-VERSION": "1.4.1" },
      }));
      const writes = (what: string) => `1 state, set_task_run_states via mutations, ${what}`;
      const load = { ...plan, clients: [CLIENTS] };
      const baseline = writes("no prune running (before)");
      phase(`prune: ${baseline}`);
      const measurements = await measureHttp(url, requests, load, { group: "prune", workload: baseline, label: "no prune", items: 1 });

      const age = AGE_DAYS * 86_400;
      const phases: { rule: string; name: string; rules: RetentionRules; expected: Partial<RemovedRows> }[] = [
        {
          rule: "log rule",
          name: `log rule: logs older than ${AGE_DAYS} days`,
          rules: { flowRunsOlderThanSeconds: null, logsOlderThanSeconds: age },
          expected: { logs: scale.flowRuns * LOGS_PER_RUN },
        },
        {
          rule: "run rule",
          name: `run rule: finished flow runs older than ${AGE_DAYS} days`,
          rules: { flowRunsOlderThanSeconds: age, logsOlderThanSeconds: null },
          expected: { flowRuns: scale.flowRuns, taskRuns: scale.flowRuns * TASK_RUNS_PER_RUN },
        },
      ];
      const passes: PassTiming[] = [];
      const notes: string[] = [];
      for (const { rule, name, rules, expected } of phases) {
        phase(`prune: ${name}, with the write load beside it`);
        const result = await prunePhase(copy, rules, url, requests, plan.seconds);
        for (const [kind, rows] of Object.entries(expected)) {
          if (result.removed[kind as keyof RemovedRows] !== rows) throw new Error(`the ${name} deleted ${describeRemovedRows(result.removed)}; expected ${rows} ${kind}`);
        }
        const rows = Object.values(result.removed).reduce((sum, value) => sum + value, 0);
        const main = result.removed.flowRuns > 0 ? `${fmt(result.removed.flowRuns / result.seconds)} flow runs/s` : `${fmt(result.removed.logs / result.seconds)} logs/s`;
        passes.push({
          pass: `database prune, ${name}`,
          data: `${fmt(scale.flowRuns)} finished runs, ${fmt(scale.flowRuns * LOGS_PER_RUN)} logs`,
          work: `${describeRemovedRows(result.removed)} deleted in ${fmt(result.batches)} batches: ${main}, ${fmt(rows / result.seconds)} rows/s`,
          seconds: [result.seconds],
        });
        const rates = result.points.map((point) => point.requestsPerSecond);
        if (rates.length === 0) {
          notes.push(`prune, ${name}: over in ${result.seconds.toFixed(1)} s, before a ${plan.seconds} s point of the write load could end (no figure)`);
          continue;
        }
        const middle = result.points.find((point) => point.requestsPerSecond === median(rates))!;
        measurements.push({
          group: "prune",
          workload: writes(`while the ${rule} prunes`),
          clients: CLIENTS,
          throughput: middle.requestsPerSecond,
          itemsPerSecond: middle.requestsPerSecond,
          p50Ms: middle.p50Ms,
          p99Ms: middle.p99Ms,
          ceiling: baseline,
          errors: result.points.reduce((sum, point) => sum + point.errors, 0) || undefined,
        });
        notes.push(`prune, ${name}: write load during it, requests/s of its ${rates.length} points of ${plan.seconds} s: ${rates.map(fmt).join(", ")}`);
      }
      const after = writes("no prune running (after)");
      phase(`prune: ${after}`);
      measurements.push(...(await measureHttp(url, requests, load, { group: "prune", workload: after, label: "no prune, after", items: 1, ceiling: baseline })));
      return {
        description: `${fmt(scale.flowRuns)} finished flow runs ${AGE_DAYS}–${AGE_DAYS + SPREAD_DAYS} days old with ${fmt(scale.flowRuns * 3)} states, ${fmt(scale.flowRuns * TASK_RUNS_PER_RUN)} task runs, ${fmt(scale.flowRuns * TASK_RUNS_PER_RUN * 2)} task-run states, ${fmt(scale.flowRuns / 10)} artifacts and ${fmt(scale.flowRuns * LOGS_PER_RUN)} logs`,
        seed,
        passes,
        measurements,
        notes,
      };
    } finally {
      sampler.unwatch("mutations");
      await stopServices([mutations]);
    }
  } finally {
    await pool.end();
    await dropCopy(copy);
  }
}
