// Flow runs and task runs (docs/v1-compatibility.md, Flow runs and task runs).
import pg from "pg";
import { withTransaction, type Pool, type PoolClient } from "../../shared/src/database/pool.ts";
import { CLAIM_SECONDS } from "./concurrency.ts";
import { ApiError } from "./errors.ts";
import { pythonSetRepr } from "./python.ts";
import { SCHEDULED_STATES, stateListSql } from "./state_classes.ts";
import { randomRunName } from "./names.ts";
import { isObject, type Json } from "./inputs.ts";

type Queryable = Pool | PoolClient;

export interface CreateFlowRunInput {
  flow_id?: string | null;
  version_group_id?: string | null;
  parameters?: unknown;
  labels?: string[] | null;
  run_config?: unknown;
  context?: unknown;
  /** ISO date-time; default now. */
  scheduled_start_time?: string | null;
  idempotency_key?: string | null;
  flow_run_name?: string | null;
}

export interface FlowForRun {
  id: string;
  tenant_id: string | null;
  archived: boolean;
  parameters: unknown;
  run_config: Json | null;
  environment: Json | null;
  group_labels: string[] | null;
  group_run_config: Json | null;
  default_parameters: Json | null;
}

export const FLOW_FOR_RUN_COLUMNS = `f.id, f.tenant_id, f.archived, f.parameters, f.run_config, f.environment,
  fg.labels AS group_labels, fg.run_config AS group_run_config, fg.default_parameters`;


/** The flow a new run is for: by id, else the newest unarchived version of the version group. */
async function flowForRun(db: Queryable, input: CreateFlowRunInput): Promise<FlowForRun> {
  if (input.flow_id) {
    const { rows } = await db.query<FlowForRun>(
      `SELECT ${FLOW_FOR_RUN_COLUMNS} FROM flow f JOIN flow_group fg ON fg.id = f.flow_group_id WHERE f.id = $1`,
      [input.flow_id],
    );
    const flow = rows[0];
    if (!flow) throw new ApiError(`Flow ${input.flow_id} not found`, "NOT_FOUND");
    if (flow.archived) throw new ApiError(`Flow ${input.flow_id} is archived.`);
    return flow;
  }
  if (input.version_group_id) {
    const { rows } = await db.query<FlowForRun>(
      `SELECT ${FLOW_FOR_RUN_COLUMNS} FROM flow f JOIN flow_group fg ON fg.id = f.flow_group_id
       WHERE f.version_group_id = $1 AND NOT f.archived ORDER BY f.version DESC NULLS LAST, f.created DESC LIMIT 1`,
      [input.version_group_id],
    );
    const flow = rows[0];
    if (!flow) throw new ApiError(`Version group ${input.version_group_id} has no unarchived flows.`, "NOT_FOUND");
    return flow;
  }
  // v1's resolver checked this first with these words (its API layer had a second text clients never saw)
  throw new ApiError("A flow id or version group ID must be provided.");
}

/** `labels` of a run config / environment object, or [] when it has none. */
const labelsOf = (source: Json): string[] => (Array.isArray(source.labels) ? (source.labels as string[]) : []);

/**
 * The labels of a new run: the first source that is set wins, with no fall-through once one is chosen: input
 * labels, input run_config, flow group labels (an empty list counts), flow group run_config, flow run_config,
 * flow environment; then sorted.
 */
export function runLabels(input: Pick<CreateFlowRunInput, "labels" | "run_config">, flow: FlowForRun): string[] {
  let labels: string[] = [];
  if (input.labels != null) labels = input.labels;
  else if (isObject(input.run_config)) labels = labelsOf(input.run_config);
  else if (flow.group_labels != null) labels = flow.group_labels;
  else if (isObject(flow.group_run_config)) labels = labelsOf(flow.group_run_config);
  else if (isObject(flow.run_config)) labels = labelsOf(flow.run_config);
  else if (isObject(flow.environment)) labels = labelsOf(flow.environment);
  return [...labels].sort();
}

/**
 * The parameters of a new run: the flow's parameter defaults, overlaid by the flow group's default_parameters, then
 * by the input. Every required parameter must end up with a value.
 */
export function runParameters(flowParameters: unknown, groupDefaults: Json | null, input: unknown): Json {
  const declared = Array.isArray(flowParameters) ? flowParameters.filter(isObject) : [];
  const parameters: Json = {};
  for (const parameter of declared) {
    if (typeof parameter.name === "string" && parameter.default !== undefined && parameter.default !== null) {
      parameters[parameter.name] = parameter.default;
    }
  }
  Object.assign(parameters, isObject(groupDefaults) ? groupDefaults : {}, isObject(input) ? input : {});
  const missing = declared
    .filter((parameter) => parameter.required === true && typeof parameter.name === "string" && !(parameter.name in parameters))
    .map((parameter) => parameter.name as string)
    .sort();
  if (missing.length > 0) throw new ApiError(`Required parameters were not supplied: ${pythonSetRepr(missing)}`);
  return parameters;
}

// Inserts runs (an upsert on (idempotency_key, flow_id): a repeated key returns the existing run and bumps only its
// `updated`, and marks it auto-scheduled when the new row is) and, for each new run, its Scheduled state, version 1,
// in one statement. $1 is a jsonb array of NewFlowRun rows, $2 the Scheduled state's serialized template. A new run
// is inserted in its final form (version 1, the Scheduled state's columns, the same timestamp as its state row), so
// the state trigger finds nothing to change and skips the update (migration 000004); the statement-level insert
// trigger creates the task runs. Each row tells whether the run is new and, when a cloud hook matches its Scheduled
// state, that state's id (one join, not one look-up per run: a scheduler page inserts 5,000 runs).
const INSERT_FLOW_RUNS_SQL = `
WITH input AS MATERIALIZED (
  SELECT r.*, COALESCE(r.scheduled_start_time, now()) AS start_time, clock_timestamp() AS state_timestamp
  FROM jsonb_to_recordset($1::jsonb) AS r(ord int, tenant_id uuid, flow_id uuid, parameters jsonb, context jsonb,
    labels jsonb, run_config jsonb, scheduled_start_time timestamptz, idempotency_key varchar, name varchar, auto_scheduled boolean)
),
ins AS (
  INSERT INTO flow_run (tenant_id, flow_id, parameters, context, labels, run_config, scheduled_start_time, idempotency_key, name, auto_scheduled,
                        version, state, serialized_state, state_start_time, state_timestamp, state_message, state_result)
  SELECT tenant_id, flow_id, parameters, context, labels, run_config, start_time, idempotency_key, name, auto_scheduled,
         1, 'Scheduled',
         $2::jsonb || jsonb_build_object('start_time', to_char(start_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')),
         start_time, state_timestamp, 'Flow run scheduled.', $2::jsonb->'_result'
  FROM input ORDER BY ord
  ON CONFLICT (idempotency_key, flow_id) DO UPDATE
    SET idempotency_key = EXCLUDED.idempotency_key, auto_scheduled = flow_run.auto_scheduled OR EXCLUDED.auto_scheduled
  RETURNING id, tenant_id, flow_id, idempotency_key, (xmax = 0) AS inserted,
            version, state, state_message, state_result, state_start_time, serialized_state, state_timestamp
),
scheduled AS (
  INSERT INTO flow_run_state (tenant_id, flow_run_id, version, state, message, result, start_time, serialized_state, timestamp)
  SELECT tenant_id, id, version, state, state_message, state_result, state_start_time, serialized_state, state_timestamp
  FROM ins WHERE inserted
  RETURNING id
)
SELECT r.id, r.flow_id, r.idempotency_key, r.inserted
FROM (SELECT ins.id, ins.flow_id, ins.idempotency_key, ins.inserted, row_number() OVER () AS n FROM ins) r
ORDER BY r.n`;

const SCHEDULED_STATE_TEMPLATE = JSON.stringify({
  type: "Scheduled",
  message: "Flow run scheduled.",
  context: {},
  cached_inputs: {},
  _result: { type: "NoResultType" },
});

/** A run to insert, its columns as create_flow_run computes them. */
export interface NewFlowRun {
  tenant_id: string | null;
  flow_id: string;
  parameters: Json;
  context: unknown;
  labels: string[];
  run_config: unknown;
  /** ISO date-time; null means now. */
  scheduled_start_time: string | null;
  idempotency_key: string | null;
  name: string;
  auto_scheduled: boolean;
}

/** One run insertFlowRuns returns. */
export interface InsertedFlowRun {
  id: string;
  flow_id: string;
  idempotency_key: string | null;
  /** False when a run with the same (idempotency key, flow) was there already. */
  inserted: boolean;
}

/**
 * Inserts runs with their Scheduled states in one statement; a run whose (idempotency key, flow) exists is not
 * inserted again, its id is returned instead. Returns one row per distinct input key, in input order. (The cloud
 * hooks matching the new Scheduled states are owed through the outbox: cloud_hooks/outbox.ts.)
 */
export async function insertFlowRuns(db: Queryable, runs: NewFlowRun[]): Promise<InsertedFlowRun[]> {
  if (runs.length === 0) return [];
  const { rows } = await db.query<InsertedFlowRun>({
    name: "mutations.insert_flow_runs",
    text: INSERT_FLOW_RUNS_SQL,
    values: [JSON.stringify(runs.map((run, ord) => ({ ord, ...run }))), SCHEDULED_STATE_TEMPLATE],
  });
  return rows;
}

/** The columns of a new run of `flow` from create_flow_run's inputs (labels, run_config and parameter precedence). */
export function newFlowRun(flow: FlowForRun, input: Omit<CreateFlowRunInput, "flow_id" | "version_group_id">, autoScheduled = false): NewFlowRun {
  const runConfig = input.run_config ?? flow.group_run_config ?? flow.run_config ?? null;
  return {
    tenant_id: flow.tenant_id,
    flow_id: flow.id,
    parameters: runParameters(flow.parameters, flow.default_parameters, input.parameters),
    context: input.context ?? {},
    labels: runLabels(input, flow),
    run_config: runConfig,
    scheduled_start_time: input.scheduled_start_time ?? null,
    idempotency_key: input.idempotency_key ?? null,
    name: input.flow_run_name || randomRunName(),
    auto_scheduled: autoScheduled,
  };
}

/** create_flow_run: returns the new run's id, or the existing run's id for a repeated idempotency key. */
export async function createFlowRun(db: Queryable, input: CreateFlowRunInput): Promise<string> {
  const flow = await flowForRun(db, input);
  const [row] = await insertFlowRuns(db, [newFlowRun(flow, input)]);
  return row!.id;
}

/** A task run's natural key: (flow run, task, map index); a missing map index is -1, the unmapped run. */
export interface TaskRunKey {
  flow_run_id: string;
  task_id: string;
  map_index?: number | null;
}

export interface TaskRunInfo {
  id: string;
  version: number;
  state: string | null;
  serialized_state: unknown;
}

// Finds the task run of (flow run, task, map index) or creates it with its Pending state, in one statement. A
// concurrent creator makes the insert a no-op and the lookup is repeated. A new task run is inserted in its final
// Pending form (version 1, the state's columns and timestamp), so the state trigger has nothing to change.
const GET_OR_CREATE_TASK_RUN_SQL = `
WITH existing AS (
  SELECT id, version, state, serialized_state FROM task_run WHERE flow_run_id = $1 AND task_id = $2 AND map_index = $3
),
task AS (
  SELECT t.id, COALESCE(t.tenant_id, fr.tenant_id) AS tenant_id, t.cache_key
  FROM task t JOIN flow_run fr ON fr.id = $1
  WHERE t.id = $2 AND NOT EXISTS (SELECT 1 FROM existing)
),
ins AS (
  INSERT INTO task_run (tenant_id, flow_run_id, task_id, map_index, cache_key, version, state, serialized_state, state_message, state_timestamp)
  SELECT tenant_id, $1, id, $3, cache_key, 1, 'Pending', '{"type": "Pending", "message": "Task run created"}'::jsonb, 'Task run created', clock_timestamp()
  FROM task
  ON CONFLICT (flow_run_id, task_id, map_index) DO NOTHING
  RETURNING id, tenant_id, state_timestamp
),
pending AS (
  INSERT INTO task_run_state (tenant_id, task_run_id, version, state, message, serialized_state, timestamp)
  SELECT tenant_id, id, 1, 'Pending', 'Task run created', '{"type": "Pending", "message": "Task run created"}'::jsonb, state_timestamp
  FROM ins
)
SELECT id, version, state, serialized_state, false AS created FROM existing
UNION ALL
SELECT id, 1, 'Pending', '{"type": "Pending", "message": "Task run created"}'::jsonb, true FROM ins
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL FROM (SELECT 1) AS probe
WHERE NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM task)`;

/**
 * The task run of (flow run, task, map index), created with a Pending state when missing. Returns null when the
 * task or the flow run does not exist. The reported version is the real one (v1 said 0 for a new run).
 */
export async function getOrCreateTaskRun(db: Queryable, input: TaskRunKey): Promise<TaskRunInfo | null> {
  const values = [input.flow_run_id, input.task_id, input.map_index ?? -1];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const { rows } = await db.query<TaskRunInfo & { created: boolean | null }>({
      name: "mutations.get_or_create_task_run",
      text: GET_OR_CREATE_TASK_RUN_SQL,
      values,
    });
    const row = rows.find((candidate) => candidate.id !== null);
    if (row) return { id: row.id, version: row.version, state: row.state, serialized_state: row.serialized_state };
    if (rows.length > 0) return null; // the probe row: no such task or flow run
    // Neither found nor inserted: a concurrent call inserted it between our look-up and insert; look again.
  }
  throw new Error("get_or_create_task_run: the task run could not be read back after a concurrent insert");
}

/** get_or_create_task_run: the task run's id; `Invalid ID` when the task or the flow run does not exist. */
export async function getOrCreateTaskRunId(db: Queryable, input: TaskRunKey): Promise<string> {
  const taskRun = await getOrCreateTaskRun(db, input);
  if (!taskRun) throw new ApiError("Invalid ID");
  return taskRun.id;
}

/** get_or_create_task_run_info: the task run's id, version and state; `Invalid task ID` when it cannot be made. */
export async function getOrCreateTaskRunInfo(db: Queryable, input: TaskRunKey): Promise<TaskRunInfo> {
  const taskRun = await getOrCreateTaskRun(db, input);
  if (!taskRun) throw new ApiError("Invalid task ID");
  return taskRun;
}

/** Sets a flow run's heartbeat to now. Unknown ids are not an error (v1 reported success for them). */
export async function updateFlowRunHeartbeat(db: Queryable, flowRunId: string): Promise<void> {
  await db.query({ name: "mutations.flow_run_heartbeat", text: "UPDATE flow_run SET heartbeat = clock_timestamp() WHERE id = $1", values: [flowRunId] });
}

/** Sets a task run's heartbeat to now (the flow run's heartbeat is not touched). */
export async function updateTaskRunHeartbeat(db: Queryable, taskRunId: string): Promise<void> {
  await db.query({ name: "mutations.task_run_heartbeat", text: "UPDATE task_run SET heartbeat = clock_timestamp() WHERE id = $1", values: [taskRunId] });
}

/**
 * The scheduled states as SQL literals: the poll names them in its text, not as a parameter, so that the planner
 * can use migration 000010's partial index (tenant, start time, id) over exactly these states.
 */
const SCHEDULED_STATES_SQL = stateListSql(SCHEDULED_STATES);

/** SQL: run `fr` carries no label the agent lacks ($3); an agent with labels takes no unlabeled run. */
const LABELS_MATCH = `fr.labels <@ $3::jsonb AND (jsonb_array_length($3::jsonb) = 0 OR fr.labels <> '[]'::jsonb)`;

/**
 * SQL: the runs due for an agent with labels $3 (jsonb) of tenant $1 at $2 ($6 the scheduled states, for task runs),
 * oldest start first, at most `limit`: the runs in a scheduled state starting by then (read in order from the
 * partial index, stopping at `limit`) and the running runs with a task run due (few: the running runs of the
 * tenant). `columns`, `join` and `condition` add to both branches; the rows carry `id` and `state_start_time` to be
 * ordered by.
 */
const dueRunsSql = (columns: string, join: string, condition: string, limit: string) => `
  (SELECT fr.id, fr.state_start_time${columns} FROM flow_run fr ${join}
   WHERE fr.tenant_id = $1 AND fr.state IN (${SCHEDULED_STATES_SQL}) AND fr.state_start_time <= $2
     AND ${LABELS_MATCH} AND ${condition}
   ORDER BY fr.state_start_time, fr.id LIMIT ${limit})
  UNION ALL
  (SELECT fr.id, fr.state_start_time${columns} FROM flow_run fr ${join}
   WHERE fr.tenant_id = $1 AND fr.state = 'Running'
     AND EXISTS (SELECT 1 FROM task_run tr WHERE tr.flow_run_id = fr.id AND tr.state = ANY($6::text[]) AND tr.state_start_time <= $2)
     AND ${LABELS_MATCH} AND ${condition}
   ORDER BY fr.state_start_time NULLS LAST, fr.id LIMIT ${limit})`;

/**
 * Where limits apply, the poll reads this many times its cap of candidates: runs it skips for a label whose slots the
 * runs before them took leave room for others.
 */
const LIMITED_CANDIDATES_FACTOR = 3;

// The agent queue: due runs of the tenant, label matching in SQL, oldest start first, capped. Records the polling
// agent's last_queried in the same statement, and says whether a concurrency limit of the tenant names one of the
// agent's labels (then the runs it may be handed are counted out under the limits' locks: limitedRunsInQueue).
const RUNS_IN_QUEUE_SQL = `
WITH polled AS (UPDATE agent SET last_queried = now() WHERE id = $5::uuid RETURNING id),
due AS (${dueRunsSql("", "", "true", "$4")})
SELECT id::text AS id,
  EXISTS (SELECT 1 FROM flow_concurrency_limit l WHERE l.tenant_id = $1 AND $3::jsonb ? l.name) AS limited
FROM due
ORDER BY state_start_time ASC NULLS LAST, id
LIMIT $4`;

// The same queue where limits apply, after limitedRunsInQueue has locked them: $5 the labels without a free slot, $7
// the seconds a claim lasts. A run that holds its slots already (a running run with due task runs, a run claimed by
// a poll and not yet submitted) is listed whatever its labels; the others only without a full label.
const LIMITED_RUNS_IN_QUEUE_SQL = `
WITH due AS (${dueRunsSql(
  ", fr.labels, fr.state = 'Running' OR c.flow_run_id IS NOT NULL AS holding",
  "LEFT JOIN internal.flow_run_claim c ON c.flow_run_id = fr.id AND c.claimed > now() - make_interval(secs => $7)",
  "(fr.state = 'Running' OR c.flow_run_id IS NOT NULL OR NOT fr.labels ?| $5::text[])",
  "$4",
)})
SELECT id::text AS id, labels, holding FROM due
ORDER BY state_start_time ASC NULLS LAST, id
LIMIT $4`;

/** get_runs_in_queue: ids of the runs an agent with these labels should submit now. */
export async function getRunsInQueue(
  db: Queryable,
  input: { tenant_id: string; before?: string | null; labels?: string[] | null; agent_id?: string | null; limit: number },
): Promise<string[]> {
  if (!input.tenant_id) throw new ApiError("Invalid tenant ID");
  const labels = [...new Set(input.labels ?? [])].sort();
  const values = [input.tenant_id, input.before ?? new Date().toISOString(), JSON.stringify(labels), input.limit, input.agent_id ?? null, SCHEDULED_STATES];
  const { rows } = await db.query<{ id: string; limited: boolean }>({ name: "mutations.get_runs_in_queue", text: RUNS_IN_QUEUE_SQL, values });
  if (rows.length === 0 || !rows[0]!.limited) return rows.map((row) => row.id);
  const limited = (client: Queryable) => limitedRunsInQueue(client, values, labels);
  return db instanceof pg.Pool ? withTransaction(db, limited) : limited(db);
}

/**
 * The queue of an agent whose labels have concurrency limits (docs/concurrency.md, "Flow-label limits"): inside one
 * transaction, lock the limits (so concurrent polls count them out one after the other), count the runs holding
 * their slots (running, submitted, or claimed by an earlier poll), hand out runs while each of their limited labels
 * has a free slot, and claim the runs handed out, so the next poll counts them before the agent has submitted them.
 */
async function limitedRunsInQueue(db: Queryable, values: unknown[], agentLabels: string[]): Promise<string[]> {
  const { rows: limits } = await db.query<{ name: string; limit: number; used: string }>({
    name: "mutations.get_runs_in_queue.limits",
    text: `SELECT name, "limit", used FROM internal.concurrency_limit_usage('flow-label',
             ARRAY(SELECT id FROM flow_concurrency_limit WHERE tenant_id = $1 AND name = ANY($2::text[])), true, $3)`,
    values: [values[0], agentLabels, CLAIM_SECONDS],
  });
  const free = new Map(limits.map((limit) => [limit.name, limit.limit - Number(limit.used)]));
  const full = [...free].filter(([, slots]) => slots <= 0).map(([name]) => name);
  const { rows: candidates } = await db.query<{ id: string; labels: string[]; holding: boolean }>({
    name: "mutations.get_runs_in_queue.limited",
    text: LIMITED_RUNS_IN_QUEUE_SQL,
    values: [...values.slice(0, 3), Number(values[3]) * LIMITED_CANDIDATES_FACTOR, full, values[5], CLAIM_SECONDS],
  });
  const handed: string[] = [];
  const claims: string[] = [];
  for (const run of candidates) {
    if (handed.length >= Number(values[3])) break;
    if (!run.holding) {
      const limited = run.labels.filter((label) => free.has(label));
      if (limited.some((label) => free.get(label)! <= 0)) continue;
      for (const label of limited) free.set(label, free.get(label)! - 1);
      if (limited.length > 0) claims.push(run.id);
    }
    handed.push(run.id);
  }
  await db.query({
    name: "mutations.get_runs_in_queue.claim",
    text: `WITH expired AS (DELETE FROM internal.flow_run_claim WHERE claimed < now() - make_interval(secs => $2))
           INSERT INTO internal.flow_run_claim (flow_run_id) SELECT unnest($1::uuid[])
           ON CONFLICT (flow_run_id) DO UPDATE SET claimed = now()`,
    values: [claims, CLAIM_SECONDS],
  });
  return handed;
}

/** set_flow_run_labels: stores the labels sorted; false for an unknown run. */
export async function setFlowRunLabels(db: Queryable, flowRunId: string, labels: string[] | null | undefined): Promise<boolean> {
  if (labels == null) throw new ApiError("Invalid labels");
  const { rowCount } = await db.query("UPDATE flow_run SET labels = $2 WHERE id = $1", [flowRunId, JSON.stringify([...labels].sort())]);
  return rowCount === 1;
}

export async function setFlowRunName(db: Queryable, flowRunId: string | null | undefined, name: string | null | undefined): Promise<boolean> {
  if (!flowRunId) throw new ApiError("Invalid flow run ID");
  if (!name) throw new ApiError("Invalid name");
  const { rowCount } = await db.query("UPDATE flow_run SET name = $2 WHERE id = $1", [flowRunId, name]);
  return rowCount === 1;
}

export async function setTaskRunName(db: Queryable, taskRunId: string | null | undefined, name: string | null | undefined): Promise<boolean> {
  if (!taskRunId) throw new ApiError("Invalid task run ID");
  if (!name) throw new ApiError("Invalid name");
  const { rowCount } = await db.query("UPDATE task_run SET name = $2 WHERE id = $1", [taskRunId, name]);
  return rowCount === 1;
}

/** delete_flow_run: one statement; the run's task runs, states and logs go with it through the cascades. */
export async function deleteFlowRun(db: Queryable, flowRunId: string | null | undefined): Promise<boolean> {
  if (!flowRunId) throw new ApiError("Invalid flow run ID.");
  const { rowCount } = await db.query("DELETE FROM flow_run WHERE id = $1", [flowRunId]);
  return rowCount === 1;
}

/** get_task_run_info: the current state of a task run. */
export async function getTaskRunInfo(db: Queryable, taskRunId: string): Promise<TaskRunInfo> {
  const { rows } = await db.query<TaskRunInfo>("SELECT id, version, state, serialized_state FROM task_run WHERE id = $1", [taskRunId]);
  if (rows.length === 0) throw new ApiError("Invalid task run ID");
  return rows[0]!;
}

export interface MappedChildren {
  min_start_time: Date | null;
  max_end_time: Date | null;
  state_counts: Record<string, number>;
}

/** mapped_children: aggregates over the mapped children (map_index ≥ 0) of a parent task run (map_index < 0). */
export async function mappedChildren(db: Queryable, taskRunId: string): Promise<MappedChildren> {
  const { rows } = await db.query<MappedChildren>(
    `SELECT min(c.start_time) AS min_start_time, max(c.end_time) AS max_end_time,
       COALESCE((SELECT jsonb_object_agg(s.state, s.n) FROM (
         SELECT c2.state, count(*) AS n FROM task_run c2
         WHERE c2.flow_run_id = p.flow_run_id AND c2.task_id = p.task_id AND c2.map_index >= 0 AND c2.state IS NOT NULL
         GROUP BY c2.state) s), '{}'::jsonb) AS state_counts
     FROM task_run p LEFT JOIN task_run c ON c.flow_run_id = p.flow_run_id AND c.task_id = p.task_id AND c.map_index >= 0
     WHERE p.id = $1 AND p.map_index < 0
     GROUP BY p.id, p.flow_run_id, p.task_id`,
    [taskRunId],
  );
  return rows[0] ?? { min_start_time: null, max_end_time: null, state_counts: {} };
}
