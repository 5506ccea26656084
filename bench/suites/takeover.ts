// Taking over a Prefect Server v1 database (docs/migrating-from-v1.md) of 1,000,000 flow runs (each with a task run
// and its states) and 10,000,000 log lines: `database upgrade` from v1's schema to ours, each step timed, while a
// writer keeps adding a state and a log line to random runs (what v1's services would do if left running): its
// slowest write shows whether a step held the runs or the logs locked.
//
// The v1 database is seeded once (v1's schema as 000001 creates it, alembic's table, rows written set-based with the
// triggers off) into prefect_bench_v1_seed; each run copies it (CREATE DATABASE … TEMPLATE) and takes the copy over.
import pg from "pg";
import { upgrade, withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";
import { makeV1Schema } from "../../tests/helpers/v1.ts";
import { benchDatabaseUrl } from "../lib/database.ts";

export interface TakeoverScale {
  flowRuns: number;
  logs: number;
}

export const TAKEOVER_SCALES = {
  full: { flowRuns: 1_000_000, logs: 10_000_000 },
  quick: { flowRuns: 10_000, logs: 100_000 },
} as const;

export interface TakeoverResult {
  description: string;
  seedSeconds: number;
  totalSeconds: number;
  /** The upgrade's own account, one line per step with its duration. */
  steps: string[];
  /** The concurrent writer: writes done, median and slowest write (ms). */
  writes: number;
  medianWriteMs: number;
  slowestWriteMs: number;
}

const fmt = (n: number) => n.toLocaleString("en-US");
const CHUNK = 100_000;

async function seedV1(url: string, scale: TakeoverScale, progress: (line: string) => void): Promise<number> {
  const started = performance.now();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    await makeV1Schema(pool);
    await pool.query(`set session_replication_role = replica;
      insert into tenant (id, name, slug) values (md5('v1-tenant')::uuid, 'default', 'default');
      insert into project (id, tenant_id, name) values (md5('v1-project')::uuid, md5('v1-tenant')::uuid, 'v1');
      insert into flow_group (id, tenant_id, name) select md5('v1-group-' || i)::uuid, md5('v1-tenant')::uuid, 'group-' || i
        from generate_series(1, 1000) i;
      insert into flow (id, tenant_id, project_id, flow_group_id, version, version_group_id, name)
        select md5('v1-flow-' || i)::uuid, md5('v1-tenant')::uuid, md5('v1-project')::uuid, md5('v1-group-' || i)::uuid, 1,
               'group-' || i, 'flow-' || i from generate_series(1, 1000) i;
      insert into task (id, tenant_id, flow_id, slug, name)
        select md5('v1-task-' || i)::uuid, md5('v1-tenant')::uuid, md5('v1-flow-' || i)::uuid, 'task', 'task'
        from generate_series(1, 1000) i;`);
    for (let offset = 0; offset < scale.flowRuns; offset += CHUNK) {
      const last = Math.min(offset + CHUNK, scale.flowRuns);
      await pool.query(`set session_replication_role = replica;
        insert into flow_run (id, tenant_id, flow_id, version, state, serialized_state, state_timestamp, scheduled_start_time, start_time, end_time, name)
          select md5('v1-run-' || i)::uuid, md5('v1-tenant')::uuid, md5('v1-flow-' || (i % 1000 + 1))::uuid, 4, 'Success',
                 '{"type": "Success"}', now() - i * interval '1 minute', now() - i * interval '1 minute',
                 now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '5 seconds', 'run-' || i
          from generate_series(${offset + 1}, ${last}) i;
        insert into flow_run_state (tenant_id, flow_run_id, version, state, serialized_state, timestamp)
          select md5('v1-tenant')::uuid, md5('v1-run-' || i)::uuid, v.version, v.state, jsonb_build_object('type', v.state),
                 now() - i * interval '1 minute'
          from generate_series(${offset + 1}, ${last}) i,
               (values (1, 'Scheduled'), (2, 'Submitted'), (3, 'Running'), (4, 'Success')) as v (version, state);
        insert into task_run (id, tenant_id, flow_run_id, task_id, version, state, serialized_state)
          select md5('v1-task-run-' || i)::uuid, md5('v1-tenant')::uuid, md5('v1-run-' || i)::uuid,
                 md5('v1-task-' || (i % 1000 + 1))::uuid, 3, 'Success', '{"type": "Success"}'
          from generate_series(${offset + 1}, ${last}) i;`);
      progress(`v1 runs: ${fmt(last)} of ${fmt(scale.flowRuns)}`);
    }
    const perRun = scale.logs / scale.flowRuns;
    for (let offset = 0; offset < scale.logs; offset += CHUNK * 10) {
      const last = Math.min(offset + CHUNK * 10, scale.logs);
      await pool.query(`set session_replication_role = replica;
        insert into log (tenant_id, flow_run_id, timestamp, name, level, message)
          select md5('v1-tenant')::uuid, md5('v1-run-' || (i / ${perRun} + 1))::uuid, now() - i * interval '1 second',
                 'prefect.CloudTaskRunner', 'INFO', 'Task ''task'': Finished task run for task with final state: ''Success'''
          from generate_series(${offset}, ${last - 1}) i;`);
      progress(`v1 logs: ${fmt(last)} of ${fmt(scale.logs)}`);
    }
    await pool.query("vacuum analyze");
  } finally {
    await pool.end();
  }
  return (performance.now() - started) / 1000;
}

/** Seeds the v1 template once, copies it, takes the copy over while a writer writes; drops the copy. */
export async function measureTakeover(scale: TakeoverScale, progress: (line: string) => void): Promise<TakeoverResult> {
  const suffix = scale.flowRuns === TAKEOVER_SCALES.full.flowRuns ? "" : "_quick";
  const template = benchDatabaseUrl(`_v1_seed${suffix}`);
  const copy = benchDatabaseUrl(`_v1_takeover${suffix}`);
  const admin = withDatabase(template, "postgres");
  const templateName = new URL(template).pathname.slice(1);
  const copyName = new URL(copy).pathname.slice(1);
  const seeded = await withClient(admin, async (client) => {
    const { rows } = await client.query<{ comment: string | null }>(
      "select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1",
      [templateName],
    );
    return rows[0]?.comment?.startsWith("seeded ") ? Number(rows[0].comment.split(" ")[1]) : undefined;
  });
  let seedSeconds = seeded;
  if (seedSeconds === undefined) {
    await withClient(admin, async (client) => {
      await client.query(`drop database if exists "${templateName}" with (force)`);
      await client.query(`create database "${templateName}"`);
    });
    seedSeconds = await seedV1(template, scale, progress);
    await withClient(admin, (client) => client.query(`comment on database "${templateName}" is 'seeded ${seedSeconds!.toFixed(1)}'`));
  }
  await withClient(admin, async (client) => {
    await client.query(`drop database if exists "${copyName}" with (force)`);
    await client.query(`create database "${copyName}" template "${templateName}"`);
  });

  const writer = new pg.Client({ connectionString: copy });
  await writer.connect();
  const latencies: number[] = [];
  let writing = true;
  const writes = (async () => {
    let n = 0;
    while (writing) {
      const run = `md5('v1-run-' || ${1 + ((n * 7919) % scale.flowRuns)})::uuid`;
      const started = performance.now();
      await writer.query(`insert into log (flow_run_id, message) values (${run}, 'written during the take-over')`);
      await writer.query(
        `insert into flow_run_state (flow_run_id, version, state, serialized_state)
         select ${run}, version + 1, 'Success', '{"type": "Success"}' from flow_run where id = ${run}`,
      );
      latencies.push(performance.now() - started);
      n += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  const steps: string[] = [];
  const started = performance.now();
  try {
    await upgrade({ connectionString: copy, log: (line) => steps.push(line) });
  } finally {
    writing = false;
    await writes;
    await writer.end();
  }
  const totalSeconds = (performance.now() - started) / 1000;
  await withClient(admin, (client) => client.query(`drop database if exists "${copyName}" with (force)`));
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    description: `a v1 database of ${fmt(scale.flowRuns)} flow runs (4 states, a task run each) and ${fmt(scale.logs)} log lines`,
    seedSeconds,
    totalSeconds,
    steps: steps.filter((line) => /\bin \d+\.\d s\.?$|^Found|^Recorded/.test(line)),
    writes: sorted.length,
    medianWriteMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    slowestWriteMs: sorted.at(-1) ?? 0,
  };
}
