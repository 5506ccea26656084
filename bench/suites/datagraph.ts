// The data graph the read benchmarks query: one tenant, 10 projects, one flow (with its flow group) per 1,000 flow
// runs, 3 tasks per flow, and the flow runs with their task runs and the states that got them there, spread over
// the 100 days before the seeding's anchor time T0 (the last day holds live runs: Running, Submitted, Scheduled
// for the next day). Queries that filter by time ask relative to T0, so the data set answers the same way
// whenever it was seeded.
//
// Seeding is set-based (generate_series, one INSERT … SELECT per table per chunk of 50,000 flow runs) with the
// triggers and foreign-key checks off (session_replication_role = replica: the rows are inserted with their final
// state columns, as the triggers would have left them), in resumable chunks.
import type pg from "pg";
import { seededId as id, seedInChunks, type SeedInfo } from "../lib/database.ts";

interface GraphScale {
  flowRuns: number;
}

export const GRAPH_SCALES = { full: { flowRuns: 1_000_000 }, quick: { flowRuns: 10_000 } } as const;

const PROJECTS = 10;
const TASKS_PER_FLOW = 3;
const RUNS_PER_FLOW = 1_000;
const CHUNK_RUNS = 50_000;
const DAYS = 100;

export interface DataGraph {
  seed: SeedInfo;
  /** The anchor: "now" for the data set. */
  t0: Date;
  projectIds: string[];
  flowRuns: number;
  /** Rows per table, for the report. */
  description: string;
}

const flowsOf = (scale: GraphScale) => Math.max(PROJECTS, Math.ceil(scale.flowRuns / RUNS_PER_FLOW));

function setupSql(scale: GraphScale): string {
  const flows = flowsOf(scale);
  return `
    create table bench_graph (t0 timestamptz not null, flow_runs int not null, counts jsonb);
    insert into bench_graph values (date_trunc('second', now()), ${scale.flowRuns}, null);
    insert into tenant (id, name, slug) values (${id("tenant", "'graph'")}, 'bench graph', 'bench-graph');
    insert into project (id, tenant_id, name)
    select ${id("project", "p::text")}, ${id("tenant", "'graph'")}, 'project-' || p from generate_series(0, ${PROJECTS - 1}) p;
    insert into flow_group (id, tenant_id, name, settings)
    select ${id("flow-group", "f::text")}, ${id("tenant", "'graph'")}, 'flow-' || f,
           '{"heartbeat_enabled": true, "lazarus_enabled": true, "version_locking_enabled": false}'::jsonb
    from generate_series(0, ${flows - 1}) f;
    insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id, core_version,
                      storage, run_config, environment, serialized_flow, is_schedule_active, archived)
    select ${id("flow", "f::text")}, ${id("tenant", "'graph'")}, ${id("project", "(f % " + PROJECTS + ")::text")},
           ${id("flow-group", "f::text")}, 'flow-' || f, 1, 'flow-' || f, '1.4.1',
           '{"type": "Local", "__version__": "1.4.1"}'::jsonb, '{"type": "LocalRun", "labels": []}'::jsonb, null,
           '{"type": "Flow", "__version__": "1.4.1"}'::jsonb, false, false
    from generate_series(0, ${flows - 1}) f;
    insert into task (id, tenant_id, flow_id, name, slug, type, max_retries, mapped, is_root_task, is_terminal_task, is_reference_task)
    select ${id("task", "f::text", "k::text")}, ${id("tenant", "'graph'")}, ${id("flow", "f::text")}, 'task-' || k, 'task-' || k || '-copy',
           'prefect.tasks.core.function.FunctionTask', 0, false, k = 1, k = ${TASKS_PER_FLOW}, k = ${TASKS_PER_FLOW}
    from generate_series(0, ${flows - 1}) f, generate_series(1, ${TASKS_PER_FLOW}) k;`;
}

/**
 * Flow runs lo..hi: state by n % 100, older than a day → finished (85 % Success, 10 % Failed, 3 % Cancelled,
 * 1 % TimedOut, 1 % TriggerFailed); the last day → 50 % Success, 10 % Failed, 15 % Running, 5 % Submitted, 20 %
 * Scheduled in the next 24 h.
 */
function chunkSql(scale: GraphScale, lo: number, hi: number): string {
  const n = scale.flowRuns;
  const flows = flowsOf(scale);
  return `
    set local session_replication_role = replica;
    create temp table run on commit drop as
    with base as (
      select n, n % 100 as b, (n % ${flows}) as f, n > ${n - Math.ceil(n / DAYS)} as recent,
             (select t0 from bench_graph) - interval '${DAYS} days' * (${n} - n)::float8 / ${n} as at
      from generate_series(${lo}, ${hi}) n
    ),
    stated as (
      select *, case
        when recent then case when b < 50 then 'Success' when b < 60 then 'Failed' when b < 75 then 'Running'
                              when b < 80 then 'Submitted' else 'Scheduled' end
        else case when b < 85 then 'Success' when b < 95 then 'Failed' when b < 98 then 'Cancelled'
                  when b < 99 then 'TimedOut' else 'TriggerFailed' end
      end as state
      from base
    )
    select n, f, state::text, (select t0 from bench_graph) as t0, ${id("fr", "n::text")} as id, ${id("flow", "f::text")} as flow_id,
           case when state = 'Scheduled' then (select t0 from bench_graph) + (n % 1440) * interval '1 minute' else at end as scheduled,
           case when state not in ('Scheduled', 'Submitted') then at + interval '1 minute' end as started,
           case when state in ('Success', 'Failed', 'Cancelled', 'TimedOut', 'TriggerFailed')
                then at + interval '1 minute' + (n % 600) * interval '1 second' end as ended,
           state in ('Success', 'Failed', 'Cancelled', 'TimedOut', 'TriggerFailed') as finished
    from stated;

    create temp table run_state on commit drop as
    select run.id as flow_run_id, s.ord, s.state, s.message, s.at,
           jsonb_build_object('type', s.state, 'message', s.message, 'context', '{}'::jsonb,
                              '_result', '{"type": "NoResultType"}'::jsonb) as serialized
    from run cross join lateral (values
      (1, 'Scheduled', 'Flow run scheduled.', least(run.scheduled, run.t0) - interval '1 hour'),
      (2, 'Submitted', 'Submitted for execution', run.scheduled),
      (3, 'Running', 'Running flow.', run.started),
      (4, run.state, 'All reference tasks finished.', run.ended)
    ) as s (ord, state, message, at)
    where s.ord = 1 or (s.ord = 2 and run.state <> 'Scheduled') or (s.ord = 3 and run.started is not null) or (s.ord = 4 and run.finished);
    create temp table run_last on commit drop as
    select distinct on (flow_run_id) * from run_state order by flow_run_id, ord desc;
    analyze run; analyze run_last;

    insert into flow_run (id, tenant_id, flow_id, parameters, scheduled_start_time, auto_scheduled, heartbeat, start_time,
                          end_time, version, state, state_timestamp, state_message, state_start_time, serialized_state,
                          name, context, created, updated, labels, run_config)
    select run.id, ${id("tenant", "'graph'")}, run.flow_id, '{}'::jsonb, run.scheduled, false,
           case when run.started is null then null when run.finished then run.ended
                else run.t0 - (run.n % 60) * interval '1 second' end,
           run.started, run.ended, last.ord, last.state, last.at, last.message,
           case when last.state = 'Scheduled' then run.scheduled end, last.serialized,
           'run-' || run.n, '{}'::jsonb, least(run.scheduled, run.t0) - interval '1 hour',
           greatest(last.at, case when run.started is not null and not run.finished then run.t0 - (run.n % 60) * interval '1 second' end),
           '[]'::jsonb, '{"type": "LocalRun", "labels": []}'::jsonb
    from run join run_last last on last.flow_run_id = run.id;

    insert into flow_run_state (tenant_id, flow_run_id, "timestamp", state, message, start_time, serialized_state, created, updated, version)
    select ${id("tenant", "'graph'")}, flow_run_id, at, state, message, case when state = 'Scheduled' then at end, serialized, at, at, ord
    from run_state;

    create temp table task_run_row on commit drop as
    select run.id as flow_run_id, ${id("tr", "run.n::text", "k::text")} as id, ${id("task", "run.f::text", "k::text")} as task_id, k,
           run.started, run.ended, run.t0,
           case
             when run.state = 'Success' then 'Success'
             when run.state in ('Failed', 'TimedOut') then case when k < ${TASKS_PER_FLOW} then 'Success' else run.state end
             when run.state = 'Cancelled' then case when k = 1 then 'Success' else 'Cancelled' end
             when run.state = 'TriggerFailed' then case when k = 1 then 'Failed' else 'TriggerFailed' end
             when run.state = 'Running' then case when k = 1 then 'Success' when k = 2 then 'Running' else 'Pending' end
             else 'Pending'
           end as state
    from run, generate_series(1, ${TASKS_PER_FLOW}) k;

    create temp table task_run_state_row on commit drop as
    select t.id as task_run_id, s.ord, case when s.ord = 3 then t.state else s.state end as state, s.message,
           s.at, jsonb_build_object('type', case when s.ord = 3 then t.state else s.state end, 'message', s.message,
                                    'context', '{}'::jsonb, 'cached_inputs', '{}'::jsonb, '_result', '{"type": "NoResultType"}'::jsonb) as serialized
    from task_run_row t cross join lateral (values
      (1, 'Pending', 'Task run created', coalesce(t.started, t.t0) - interval '1 minute'),
      (2, 'Running', 'Starting task run.', t.started + t.k * interval '1 second'),
      (3, '', 'Task run finished.', coalesce(t.ended, t.started) + t.k * interval '1 second')
    ) as s (ord, state, message, at)
    where s.ord = 1 or (s.ord = 2 and t.state not in ('Pending', 'TriggerFailed'))
       or (s.ord = 3 and t.state not in ('Pending', 'Running'));
    create temp table task_run_last on commit drop as
    select distinct on (task_run_id) * from task_run_state_row order by task_run_id, ord desc;
    analyze task_run_row; analyze task_run_last;

    insert into task_run (id, tenant_id, flow_run_id, task_id, map_index, version, heartbeat, start_time, end_time, state,
                          state_timestamp, state_message, serialized_state, created, updated)
    select t.id, ${id("tenant", "'graph'")}, t.flow_run_id, t.task_id, -1, last.ord,
           case when t.state <> 'Pending' then last.at end, case when last.ord > 1 then t.started end,
           case when last.ord = 3 then last.at end, last.state, last.at, last.message, last.serialized,
           coalesce(t.started, t.t0) - interval '1 minute', last.at
    from task_run_row t join task_run_last last on last.task_run_id = t.id;

    insert into task_run_state (tenant_id, task_run_id, "timestamp", state, message, serialized_state, created, updated, version)
    select ${id("tenant", "'graph'")}, task_run_id, at, state, message, serialized, at, at, ord from task_run_state_row;`;
}

export async function prepareDataGraph(pool: pg.Pool, scale: GraphScale, progress: (line: string) => void): Promise<DataGraph> {
  const chunks = Math.ceil(scale.flowRuns / CHUNK_RUNS);
  const name = `data-graph-${scale.flowRuns}-runs`;
  const seed = await seedInChunks(
    pool,
    name,
    chunks + 1,
    async (client, chunk) => {
      if (chunk === 0) return void (await client.query(setupSql(scale)));
      const lo = (chunk - 1) * CHUNK_RUNS + 1;
      await client.query(chunkSql(scale, lo, Math.min(scale.flowRuns, chunk * CHUNK_RUNS)));
    },
    progress,
  );
  // rows per table, counted once after seeding
  await pool.query(`
    update bench_graph set counts = (
      select jsonb_build_object(
        'flow_run_state', (select count(*) from flow_run_state s join flow_run r on r.id = s.flow_run_id where r.tenant_id = t.id),
        'task_run_state', (select count(*) from task_run_state s join task_run r on r.id = s.task_run_id where r.tenant_id = t.id))
      from tenant t where t.slug = 'bench-graph')
    where counts is null`);
  const { rows: meta } = await pool.query<{ t0: Date; counts: { flow_run_state: number; task_run_state: number } }>("select t0, counts from bench_graph");
  const { rows: projects } = await pool.query<{ id: string }>(
    "select id::text from project where tenant_id = (select id from tenant where slug = 'bench-graph') order by name",
  );
  const flows = flowsOf(scale);
  return {
    seed,
    t0: meta[0]!.t0,
    projectIds: projects.map((row) => row.id),
    flowRuns: scale.flowRuns,
    description:
      `${scale.flowRuns.toLocaleString("en-US")} flow runs of ${flows.toLocaleString("en-US")} flows in ${PROJECTS} projects, ` +
      `${(scale.flowRuns * TASKS_PER_FLOW).toLocaleString("en-US")} task runs (${TASKS_PER_FLOW} tasks per flow), ` +
      `${meta[0]!.counts.flow_run_state.toLocaleString("en-US")} flow-run and ${meta[0]!.counts.task_run_state.toLocaleString("en-US")} ` +
      `task-run state rows, over ${DAYS} days`,
  };
}

/** `count` flow run ids picked at random (deterministic ids: no table scan). */
export function sampleFlowRunIds(pool: pg.Pool, flowRuns: number, count: number): Promise<string[]> {
  return pool
    .query<{ id: string }>(`select ${id("fr", "(1 + floor(random() * $1))::int::text")}::text as id from generate_series(1, $2)`, [flowRuns, count])
    .then(({ rows }) => rows.map((row) => row.id));
}

/** SQL of flow run n's id (for pgbench scripts). */
export const flowRunIdSql = (n: string) => id("fr", `${n}::text`);
