// The raw-SQL ceiling: what Postgres itself does for the hottest write, a task run state change (one INSERT into
// task_run_state whose trigger updates the task run), measured with pgbench. Every service-level figure of the
// write path is reported as a fraction of these.
import type pg from "pg";
import { runPgbench } from "../lib/pgbench.ts";
import type { Measurement } from "../lib/stats.ts";
import { seedOnce } from "../lib/database.ts";

const FLOW_RUNS = 100;
const TASKS_PER_FLOW = 100;
const DATA_SET = `state-targets-${FLOW_RUNS}x${TASKS_PER_FLOW}`;
export const BATCH_SIZE = 50;

/** One flow with TASKS_PER_FLOW tasks and FLOW_RUNS runs of it; `bench_target` numbers their task runs 1..n. */
async function seedStateTargets(client: pg.PoolClient): Promise<void> {
  await client.query(`
    with tenant as (insert into tenant (name, slug) values ('bench', 'bench-states') returning id),
    project as (insert into project (tenant_id, name) select id, 'bench' from tenant returning id, tenant_id),
    flow_group as (insert into flow_group (tenant_id, name) select id, 'bench-states' from tenant returning id),
    flow as (
      insert into flow (tenant_id, project_id, flow_group_id, name, version, version_group_id)
      select project.tenant_id, project.id, flow_group.id, 'bench-states', 1, 'bench-states'
      from project, flow_group returning id, tenant_id
    )
    insert into task (tenant_id, flow_id, name, slug)
    select flow.tenant_id, flow.id, 'task-' || n, 'task-' || n from flow, generate_series(1, ${TASKS_PER_FLOW}) n`);
  await client.query(`
    insert into flow_run (tenant_id, flow_id, name, version, state)
    select tenant_id, id, 'bench-run-' || n, 1, 'Running'
    from flow, generate_series(1, ${FLOW_RUNS}) n where flow.name = 'bench-states'`);
  await client.query(`
    create table bench_target (n int primary key, task_run_id uuid not null, tenant_id uuid);
    insert into bench_target
    select row_number() over (order by task_run.id), task_run.id, task_run.tenant_id
    from task_run join flow_run on flow_run.id = task_run.flow_run_id join flow on flow.id = flow_run.flow_id
    where flow.name = 'bench-states';
    create sequence bench_state_version start 100`);
}

const stateInsert = (rowFilter: string) => `
insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state, version, "timestamp", start_time)
select tenant_id, task_run_id, 'Running', 'bench', '{"type": "Running", "message": "bench"}'::jsonb,
       nextval('bench_state_version'), clock_timestamp(), null
from bench_target where ${rowFilter} order by n;
`;

export async function measureCeiling(
  pool: pg.Pool,
  connectionString: string,
  plan: { clients: number[]; seconds: number },
): Promise<{ measurements: Measurement[]; seedSeconds: number }> {
  const seedSeconds = await seedOnce(pool, DATA_SET, seedStateTargets);
  const rows = FLOW_RUNS * TASKS_PER_FLOW;
  const measurements: Measurement[] = [];
  for (const clients of plan.clients) {
    const single = await runPgbench({
      connectionString,
      clients,
      seconds: plan.seconds,
      script: `\\set n random(1, ${rows})\n${stateInsert("n = :n")}`,
    });
    measurements.push({
      workload: "ceiling: 1 state INSERT + trigger (pgbench)",
      clients,
      throughput: single.transactionsPerSecond,
      itemsPerSecond: single.transactionsPerSecond,
      p50Ms: single.p50Ms,
      p99Ms: single.p99Ms,
    });
    const batched = await runPgbench({
      connectionString,
      clients,
      seconds: plan.seconds,
      script: `\\set n random(1, ${rows - BATCH_SIZE + 1})\n${stateInsert(`n between :n and :n + ${BATCH_SIZE - 1}`)}`,
    });
    measurements.push({
      workload: `ceiling: ${BATCH_SIZE}-state INSERT + triggers (pgbench)`,
      clients,
      throughput: batched.transactionsPerSecond,
      itemsPerSecond: batched.transactionsPerSecond * BATCH_SIZE,
      p50Ms: batched.p50Ms,
      p99Ms: batched.p99Ms,
    });
  }
  return { measurements, seedSeconds };
}
