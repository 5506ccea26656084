// Rows for the towel tests: flows with tasks, runs put into a state the way the API does it (a state row at the
// run's version + 1; the trigger does the rest), stale heartbeats.
import type { Pool } from "../../services/shared/src/database/pool.ts";
import { insertFlow, insertFlowRun } from "../database/fixtures.ts";

type Db = Pick<Pool, "query">;

export async function setFlowRunState(db: Db, flowRunId: string, state: string, startTime: string | null = null): Promise<void> {
  await db.query(
    `insert into flow_run_state (tenant_id, flow_run_id, version, state, message, start_time, serialized_state)
     select tenant_id, id, version + 1, $2::text, $2::text || ' state', $3::timestamptz,
            jsonb_build_object('type', $2::text, 'message', $2::text || ' state') from flow_run where id = $1`,
    [flowRunId, state, startTime],
  );
}

export async function setTaskRunState(db: Db, taskRunId: string, state: string, extra: Record<string, unknown> = {}): Promise<void> {
  await db.query(
    `insert into task_run_state (tenant_id, task_run_id, version, state, message, serialized_state)
     select tenant_id, id, version + 1, $2::text, $2::text || ' state', jsonb_build_object('type', $2::text, 'message', $2::text || ' state') || $3::jsonb
     from task_run where id = $1`,
    [taskRunId, state, JSON.stringify(extra)],
  );
}

export interface RunOptions {
  /** The flow run's state (default Running). */
  state?: string;
  /** Heartbeat age in seconds; null leaves it NULL (default 3600). */
  heartbeatAgeSeconds?: number | null;
  /** One task per entry, its task run put into that state (Pending = untouched). */
  taskStates?: string[];
  /** Flow group settings (default {}). */
  settings?: Record<string, unknown>;
  maxRetries?: number | null;
  /** A Postgres interval text, e.g. '01:00:00' or '17 days 01:00:03'. */
  retryDelay?: string | null;
  timesResurrected?: number;
}

export interface RunFixture {
  tenantId: string;
  flowId: string;
  flowRunId: string;
  taskRunIds: string[];
}

/** A flow (its group with `settings`) and one run of it in the asked state, with a heartbeat of the asked age. */
export async function insertRun(db: Db, options: RunOptions = {}): Promise<RunFixture> {
  const taskStates = options.taskStates ?? [];
  const flow = await insertFlow(db, { tasks: taskStates.map(() => ({})) });
  await db.query(
    "update flow_group set settings = $2 where id = (select flow_group_id from flow where id = $1)",
    [flow.flowId, JSON.stringify(options.settings ?? {})],
  );
  await db.query("update task set max_retries = $2, retry_delay = $3::interval where flow_id = $1", [
    flow.flowId,
    options.maxRetries ?? null,
    options.retryDelay ?? null,
  ]);
  const flowRunId = await insertFlowRun(db, flow);
  await setFlowRunState(db, flowRunId, options.state ?? "Running");
  const { rows } = await db.query<{ id: string }>(
    `select tr.id from task_run tr join task t on t.id = tr.task_id where tr.flow_run_id = $1 order by t.slug`,
    [flowRunId],
  );
  const taskRunIds = rows.map((row) => row.id);
  for (const [index, state] of taskStates.entries()) {
    if (state !== "Pending") await setTaskRunState(db, taskRunIds[index]!, state);
  }
  const age = options.heartbeatAgeSeconds === undefined ? 3600 : options.heartbeatAgeSeconds;
  await db.query(
    `update flow_run set heartbeat = case when $2::float8 is null then null else now() - make_interval(secs => $2::float8) end,
            times_resurrected = $3 where id = $1`,
    [flowRunId, age, options.timesResurrected ?? 0],
  );
  return { tenantId: flow.tenantId, flowId: flow.flowId, flowRunId, taskRunIds };
}

export interface RunRow {
  state: string;
  version: number;
  state_message: string | null;
  state_start_time: Date | null;
  times_resurrected: number | null;
  serialized_state: Record<string, unknown>;
}

export async function flowRun(db: Db, id: string): Promise<RunRow> {
  const { rows } = await db.query<RunRow>(
    "select state, version, state_message, state_start_time, times_resurrected, serialized_state from flow_run where id = $1",
    [id],
  );
  return rows[0]!;
}

export async function taskRun(db: Db, id: string): Promise<Omit<RunRow, "times_resurrected">> {
  const { rows } = await db.query<RunRow>(
    "select state, version, state_message, state_start_time, serialized_state from task_run where id = $1",
    [id],
  );
  return rows[0]!;
}

export interface LogRow {
  name: string;
  level: string;
  message: string;
  tenant_id: string | null;
  flow_run_id: string | null;
  task_run_id: string | null;
}

export async function logsOf(db: Db, flowRunId: string): Promise<LogRow[]> {
  const { rows } = await db.query<LogRow>(
    "select name, level, message, tenant_id, flow_run_id, task_run_id from log where flow_run_id = $1 order by timestamp",
    [flowRunId],
  );
  return rows;
}

/**
 * Sets `updated` of the rows of `table` that `where` selects (SQL with its values inline) to `days` ago. The update
 * trigger would set it to now: it is switched off for the statement.
 */
export async function ageRows(db: Db, table: string, where: string, days: number): Promise<void> {
  await db.query(
    `begin; set local session_replication_role = replica;
     update ${table} set updated = now() - make_interval(days => ${days}) where ${where}; commit`,
  );
}
