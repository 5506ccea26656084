// The raw-SQL ceilings of the hottest write, a task run state change, measured with pgbench in the same run as the
// services:
//   - "raw INSERT": one INSERT into task_run_state whose trigger updates the task run (and a 50-row INSERT), the
//     least Postgres can do for it: the ceiling every service figure of the write path is a share of;
//   - "service SQL": the mutations service's own statement (SET_TASK_RUN_STATES_SQL: locks the runs, checks the
//     flow runs are Running, carries cached inputs, inserts; the state trigger of migration 000004 sets the
//     heartbeat) with the same input, through pgbench's simple protocol: the text is parsed and planned on every
//     transaction, and its batch parameter ($1) is rebuilt from bench_target rows by a jsonb_agg subquery, whereas
//     the service sends a named prepared statement with $1 bound. It measures the statement's cost in Postgres
//     plus a parse, a plan and the building of $1 per transaction (which the service does not pay that way), so
//     the gap between it and a service figure is not an exact measure of what Node and HTTP cost.
// The rows are the same for all of them: `bench_target` numbers the task runs of 100 Running flow runs 1..10,000.
import type pg from "pg";
import { setTaskRunStates } from "../../services/domain/src/states.ts";
import { captureQuery, inlineParameters, sqlLiteral } from "../lib/capture.ts";
import { seedFlow, seedOnce, type SeedInfo } from "../lib/database.ts";
import { measureSql, type LoadPlan } from "../lib/measure.ts";
import { RUNNING_STATE } from "../lib/requests.ts";
import type { Measurement } from "../lib/stats.ts";

const FLOW_RUNS = 100;
const TASKS_PER_FLOW = 100;
const STATE_TARGETS = `state-targets-${FLOW_RUNS}x${TASKS_PER_FLOW}`;
const TARGET_ROWS = FLOW_RUNS * TASKS_PER_FLOW;
export const BATCH_SIZE = 50;

export const CEILING_RAW_1 = "ceiling: 1 state, raw INSERT + trigger (pgbench)";
export const CEILING_RAW_50 = `ceiling: ${BATCH_SIZE} states, raw INSERT + triggers (pgbench)`;
const SERVICE_SQL_1 = "1 state, the service's SQL statement (pgbench)";
const SERVICE_SQL_50 = `${BATCH_SIZE} states, the service's SQL statement (pgbench)`;

/** One flow with TASKS_PER_FLOW tasks and FLOW_RUNS Running runs of it; `bench_target` numbers their task runs 1..n. */
async function seedStateTargets(client: pg.PoolClient): Promise<void> {
  await seedFlow(client, "bench-states", TASKS_PER_FLOW);
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

/** The state-write targets (seeded once); returns their task run ids in `n` order. */
export async function prepareStateTargets(pool: pg.Pool): Promise<{ seed: SeedInfo; taskRunIds: string[] }> {
  const seed = await seedOnce(pool, STATE_TARGETS, seedStateTargets);
  // The state rows earlier runs wrote are deleted, so that every run writes into tables of the same size.
  await pool.query(`delete from task_run_state s using bench_target t where s.task_run_id = t.task_run_id and s.message <> 'Task run created'`);
  const { rows } = await pool.query<{ id: string }>("select task_run_id::text as id from bench_target order by n");
  return { seed, taskRunIds: rows.map((row) => row.id) };
}

const STATE_SQL = `${sqlLiteral(JSON.stringify(RUNNING_STATE))}::jsonb`;

const rawInsert = (rowFilter: string) => `
insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state, version, "timestamp", start_time)
select tenant_id, task_run_id, 'Running', ${sqlLiteral(RUNNING_STATE.message)}, ${STATE_SQL},
       nextval('bench_state_version'), clock_timestamp(), null
from bench_target where ${rowFilter} order by n;
`;

/**
 * The service's statement (as setTaskRunStates sends it), its batch parameter ($1, as the service builds it for
 * one item) built in SQL from bench_target rows n .. n + size − 1; its other parameters as the service sends them.
 */
async function serviceStatement(size: number): Promise<string> {
  // resend window 0, as the bench's services run (lib/services.ts): its rows get the same state again and again
  const query = await captureQuery((db) => setTaskRunStates(db, [{ task_run_id: "00000000-0000-0000-0000-000000000000", state: RUNNING_STATE }], 0));
  const [item] = JSON.parse(query.values[0] as string) as Record<string, unknown>[];
  const fields = Object.keys(item!).map((key) => {
    const value = key === "ord" ? "n - :n" : key === "task_run_id" ? "task_run_id" : `${sqlLiteral(JSON.stringify(item![key]))}::jsonb`;
    return `'${key}', ${value}`;
  });
  const batch = `(select jsonb_agg(jsonb_build_object(${fields.join(", ")}) order by n) from bench_target where n between :n and :n + ${size - 1})`;
  const sql = inlineParameters(query, (index, value) => (index === 1 ? batch : sqlLiteral(value)));
  return `${sql.trim()};\n`;
}

export async function measureCeilings(connectionString: string, plan: LoadPlan): Promise<Measurement[]> {
  const workloads = [
    { workload: CEILING_RAW_1, items: 1, script: rawInsert("n = :n"), label: "raw SQL" },
    { workload: CEILING_RAW_50, items: BATCH_SIZE, script: rawInsert(`n between :n and :n + ${BATCH_SIZE - 1}`), label: "raw SQL" },
    { workload: SERVICE_SQL_1, items: 1, script: await serviceStatement(1), ceiling: CEILING_RAW_1, label: "service SQL" },
    { workload: SERVICE_SQL_50, items: BATCH_SIZE, script: await serviceStatement(BATCH_SIZE), ceiling: CEILING_RAW_50, label: "service SQL" },
  ];
  const measurements: Measurement[] = [];
  for (const clients of plan.clients) {
    for (const { script, ...workload } of workloads) {
      const draw = `\\set n random(1, ${TARGET_ROWS - workload.items + 1})\n`;
      measurements.push(...(await measureSql(connectionString, `${draw}${script}`, { ...plan, clients: [clients] }, { group: "writes", ...workload })));
    }
  }
  return measurements;
}
