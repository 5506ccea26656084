// Setting flow-run and task-run states (docs/v1-compatibility.md, Writing states).
//
// v1 did no transition validation and ignored the `version` inputs; so do we, unless version locking is on for the
// run's flow (Prefect Cloud's, docs/version-locking.md). What we fix (docs/domain.md):
// - a whole batch is ONE SQL statement (one round trip, itself one transaction): the runs are locked first, so
//   concurrent writers queue up and each state row gets a distinct version (run version + its place in the batch);
// - a batch is all-or-nothing: when any item fails, nothing is written and the first error is reported;
// - concurrent set_task_run_states requests on the pool share statements (coalescer.ts), each request still
//   all-or-nothing on its own;
// - the Submitted lock lives in Postgres (a Submitted state on the run in the last 30 s), so it holds across
//   replicas and restarts, and it ends when the run is queued again (a Restart within the 30 s);
// - state rows carry the run's tenant_id; the Cancelled cascade to task runs is part of the same statement;
// - a write sent again (a client retrying after it lost the answer) is answered without writing a second state
//   (RESENT_STATE_WINDOW_SECONDS);
// - a run asking to start while a concurrency limit of its task's tags or its labels is used up is answered QUEUED
//   and nothing is written (docs/concurrency.md; beyond v1, as Prefect Cloud answered);
// - N states of one run in one request cost O(N): no step of the statement compares an item with all earlier ones,
//   and the state trigger writes the run once (migration 000007); a request holds its runs' locks for that one
//   statement, and is refused beyond MAX_STATES_PER_REQUEST items.
import pg from "pg";
import { withTransaction, type Pool, type PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";
import {
  FINISHED_STATES,
  RUNNING_STATES,
  SCHEDULED_STATES,
  isFinished,
  isRunning,
  isStateName,
  withStateDefaults,
  type SerializedState,
} from "./state_classes.ts";
import { isoUtc, now } from "./schedules/time.ts";
import { normaliseDateTime } from "./inputs.ts";
import { coalescer } from "./coalescer.ts";
import { queuedMessage } from "./concurrency.ts";

type Queryable = Pool | PoolClient;

/** Largest accepted serialized state, measured like v1's `sys.getsizeof(json.dumps(state))`. */
export const MAX_STATE_BYTES = 1_000_000;
/** Python's str object overhead that v1's measure included. */
const PYTHON_STR_OVERHEAD = 49;
/** How long a Submitted state keeps a second Submitted away. */
export const SUBMITTED_LOCK_SECONDS = 30;

/**
 * A state write equal to the one that gave the run its current state less than this many seconds ago is that write
 * sent again, and is answered as it was without writing anything (docs/operations.md, "Retried writes"). Prefect Core
 * resends a request whose answer it lost (a connection reset, a 5xx) up to six times with backoff, about a minute in
 * all; a client repeating a state on purpose within two minutes changes nothing by it but the run's version. The
 * API's default; services.mutations.resent_state_window_seconds sets it (0: no write is taken for a resend).
 */
export const RESENT_STATE_WINDOW_SECONDS = 120;

/**
 * Most states one set_flow_run_states or set_task_run_states request may set. Clients send one (Core) or a few (the
 * UI; its Restart sets one per failed task run of a flow run); the cost of a request grows linearly, and the bound
 * keeps one request from holding its runs' locks for more than a fraction of a second.
 */
export const MAX_STATES_PER_REQUEST = 10_000;

export const STATE_TOO_LARGE = "State payload is too large.";
export const ALREADY_SUBMITTED = "State update failed: this run has already been submitted.";

export type { SerializedState };

export interface StateItemResult {
  id: string;
  /** QUEUED: the run asked to start while a concurrency limit of its tags or labels was used up; nothing was written. */
  status: "SUCCESS" | "QUEUED";
  message: string | null;
}

interface PreparedState {
  state: SerializedState;
  type: string;
  message: string | null;
  start_time: string | null;
  /** The state came without a start time and got the time of writing (so a resend of it differs in that only). */
  start_filled: boolean;
}

/**
 * Checks a serialized state, fills in the defaults v1's deserialisation gave it (withStateDefaults: a bare
 * `{"type": "Scheduled"}` from the UI starts now) and extracts the columns stored beside it. Throws ApiError when it
 * is unusable. `at`: the time a state without its start time starts at.
 */
export function prepareState(sent: unknown, at?: string): PreparedState {
  if (sent === null || typeof sent !== "object" || Array.isArray(sent)) {
    throw new ApiError("Invalid state: expected a serialized state object.");
  }
  const text = JSON.stringify(sent);
  if (Buffer.byteLength(text, "utf8") + PYTHON_STR_OVERHEAD > MAX_STATE_BYTES) throw new ApiError(STATE_TOO_LARGE);
  const type = (sent as Record<string, unknown>).type;
  if (!isStateName(type)) throw new ApiError(`Invalid state: unknown state type ${JSON.stringify(type ?? null)}.`);
  const record = withStateDefaults(sent as SerializedState, at);
  const message = record.message == null ? null : String(record.message);
  let start_time: string | null = null;
  if (record.start_time != null) {
    start_time = normaliseDateTime(record.start_time) ?? null;
    if (start_time === null) throw new ApiError(`Invalid state: could not parse start_time ${JSON.stringify(record.start_time)}.`);
  }
  const start_filled = (sent as SerializedState).start_time == null && record.start_time != null;
  return { state: record, type, message, start_time, start_filled };
}

/** A Core state as its serialized form, for the states the server writes itself (with its constructor's defaults). */
export function serializedState(type: string, message: string, extra: Record<string, unknown> = {}): SerializedState {
  return withStateDefaults({ type, message, context: {}, cached_inputs: {}, _result: { type: "NoResultType" }, ...extra });
}

/**
 * The `input` CTE of a state statement: $1 is a jsonb array of {grp, ord, <id column>, state, type, message,
 * start_time} (see statementInput).
 */
const batchInput = (idColumn: "flow_run_id" | "task_run_id") => `input AS (
  SELECT (i.value->>'grp')::int AS grp, (i.value->>'ord')::int AS ord, (i.value->>'${idColumn}')::uuid AS ${idColumn}, i.value->'state' AS state,
         i.value->>'type' AS type, i.value->>'message' AS message, (i.value->>'start_time')::timestamptz AS start_time,
         (i.value->>'start_filled')::boolean AS start_filled, (i.value->>'version')::int AS sent_version,
         (i.value->>'resend_window')::int AS resend_window
  FROM jsonb_array_elements($1::jsonb) AS i
)`;

/**
 * SQL condition: the `item` (a row with `first`, `start_filled`, `sent_version`, `resend_window`, `run_version`,
 * `run_state_timestamp`, `run_serialized_state`) is the write that gave its run its current state, sent again
 * (RESENT_STATE_WINDOW_SECONDS): the first item of its run in the statement; the run's state written less than the
 * item's `resend_window` seconds ago; `stored` (the state the item would store) equal to the run's, a start time the
 * server filled in left out of the comparison; and a `version` sent with it (Core sends one with its running states)
 * one below the run's, the version the client saw when it sent the write the first time. With version locking on
 * for the run's flow, an item with a version is never a resend: two runners of one run sending the same running
 * state with the same version would look alike, and locking exists to stop the second (docs/version-locking.md).
 */
const resentSql = (item: string, stored: string) => `(${item}.first AND ${item}.run_state_timestamp > now() - make_interval(secs => ${item}.resend_window)
    AND (${item}.sent_version IS NULL OR (${item}.sent_version = ${item}.run_version - 1 AND NOT ${item}.version_locked))
    AND CASE WHEN ${item}.start_filled THEN ${item}.run_serialized_state - 'start_time' = ${stored} - 'start_time'
             ELSE ${item}.run_serialized_state = ${stored} END) IS TRUE`;

/** extensions.code of a write refused by version locking: Prefect Core stops the runner that lost (VersionLockMismatchSignal). */
export const VERSION_LOCKING_ERROR = "VERSION_LOCKING_ERROR";

/**
 * SQL: the refusal of an item `j` by version locking (docs/version-locking.md), or NULL. With locking on for the
 * run's flow (`version_locked`), an item that carries a version (Core sends one with its running states) must carry
 * the version the run has just before it: the run's, plus the items of the run written before it in the statement.
 */
const versionLockSql = (j: string, kind: "flow" | "task", id: string) => `CASE WHEN ${j}.version_locked AND ${j}.sent_version IS NOT NULL
    AND ${j}.sent_version <> ${j}.run_version + row_number() OVER (PARTITION BY ${j}.${id}, ${j}.resent ORDER BY ${j}.ord) - 1
  THEN 'State update failed for ${kind} run ID ' || ${j}.${id} || ': version ' || ${j}.sent_version || ' was given, but the run is at version '
    || (${j}.run_version + row_number() OVER (PARTITION BY ${j}.${id}, ${j}.resent ORDER BY ${j}.ord) - 1)
    || ' (version locking is on for its flow).' END`;

/** SQL: a jsonb value as an array to take elements from (a run's labels or a task's tags; anything else holds none). */
const asArray = (value: string) => `CASE WHEN jsonb_typeof(${value}) = 'array' THEN ${value} ELSE '[]'::jsonb END`;

/**
 * The `starting` CTE of a state statement, after its `asking` CTE (ord, tenant_id, name: each distinct tag or label of
 * an item asking a run that is not running to start): the item once per limit of those, looked up by tenant and name.
 * `asking` is materialised first so the planner cannot join the other way round (every item with every limit of its
 * tenant, then the names), which grew with the number of limits.
 */
const startingSql = (table: "task_tag_limit" | "flow_concurrency_limit", column: "tag" | "name") => `starting AS (
  SELECT a.ord, l.id AS limit_id FROM asking a JOIN ${table} l ON l.tenant_id = a.tenant_id AND l.${column} = a.name
)`;

/**
 * The `usage` and `queued` CTEs of a state statement, after its `starting` CTE (ord, limit_id: an item asking a run
 * that is not running to start, once per limit of its tags or labels). `usage` calls the migration's function
 * (migration 000011) with a limit's id once per slot asked for: it takes the limits' advisory locks and counts the
 * runs holding their slots in a snapshot taken after them, so concurrent statements cannot together take more slots
 * than are free; it is called only when some item meets a limit. An item is queued when, for one of its limits, the
 * runs holding a slot and the items of the statement before it that ask for one of that limit's slots leave none
 * (counting those items even when they end up queued for another limit errs on the side of the limit). `queued`:
 * ord, the limit's name and value, one row per queued item.
 */
const queuedSql = (kind: "task-tag" | "flow-label") => `usage AS (
  SELECT * FROM internal.concurrency_limit_usage('${kind}', ARRAY(SELECT limit_id FROM starting), false, 0) WHERE EXISTS (SELECT 1 FROM starting)
),
queued AS (
  SELECT DISTINCT ON (s.ord) s.ord, u.name, u."limit"
  FROM (SELECT starting.*, row_number() OVER (PARTITION BY limit_id ORDER BY ord) AS place FROM starting) s
  JOIN usage u ON u.id = s.limit_id
  WHERE u.used + s.place > u."limit"
  ORDER BY s.ord, u.name
)`;

// One statement sets every state of a batch of flow runs (Postgres runs every data-modifying CTE to completion
// whether or not the final SELECT reads it). $1: the batch as one group (statementInput); $2: the agent id header
// (uuid or null). Rows come back per item, in input order, with `error`.
const SET_FLOW_RUN_STATES_SQL = `
WITH ${batchInput("flow_run_id")},
run AS (
  SELECT fr.id, fr.tenant_id, fr.version, fr.state, fr.state_timestamp, fr.serialized_state, fr.agent_id, fr.labels,
    (fg.settings->>'version_locking_enabled')::boolean IS TRUE AS version_locked
  FROM flow_run fr LEFT JOIN flow f ON f.id = fr.flow_id LEFT JOIN flow_group fg ON fg.id = f.flow_group_id
  WHERE fr.id IN (SELECT flow_run_id FROM input)
  ORDER BY fr.id
  FOR NO KEY UPDATE OF fr
),
item AS (
  SELECT input.*, run.id AS run_id, run.tenant_id, run.version AS run_version, run.state AS run_state,
    run.state_timestamp AS run_state_timestamp, run.serialized_state AS run_serialized_state, run.agent_id AS run_agent_id,
    run.labels AS run_labels, run.version_locked IS TRUE AS version_locked,
    row_number() OVER (PARTITION BY input.flow_run_id ORDER BY input.ord) = 1 AS first
  FROM input LEFT JOIN run ON run.id = input.flow_run_id
),
-- a Submitted state claims the run for one agent: only the agent that submitted it can send it again
judged AS (
  SELECT item.*, ${resentSql("item", "item.state")}
    AND (item.type <> 'Submitted' OR item.run_agent_id = $2::uuid) IS TRUE AS resent
  FROM item
),
locked AS (
  SELECT j.*, ${versionLockSql("j", "flow", "flow_run_id")} AS lock_error FROM judged j
),
checked AS (
  SELECT j.*, j.run_version + row_number() OVER (PARTITION BY j.flow_run_id, j.resent ORDER BY j.ord) AS version,
    CASE
      WHEN j.resent THEN NULL
      WHEN j.run_id IS NULL THEN 'State update failed for flow run ID ' || j.flow_run_id
      WHEN j.lock_error IS NOT NULL THEN j.lock_error
      WHEN j.type = 'Submitted' AND (
        count(*) FILTER (WHERE j.type = 'Submitted')
          OVER (PARTITION BY j.flow_run_id, j.resent ORDER BY j.ord ROWS UNBOUNDED PRECEDING) > 1
        OR (j.run_state = 'Submitted' AND j.run_state_timestamp > now() - make_interval(secs => $3))
        OR EXISTS (SELECT 1 FROM flow_run_state s WHERE s.flow_run_id = j.flow_run_id AND s.state = 'Submitted'
                   AND s.timestamp > now() - make_interval(secs => $3)
                   -- a run queued again since (a restart) may be submitted again
                   AND NOT EXISTS (SELECT 1 FROM flow_run_state later WHERE later.flow_run_id = s.flow_run_id
                                   AND later.version > s.version AND later.state = ANY($6::text[]))))
      THEN '${ALREADY_SUBMITTED}'
    END AS error,
    CASE WHEN NOT j.resent AND j.run_id IS NOT NULL AND j.lock_error IS NOT NULL THEN '${VERSION_LOCKING_ERROR}' END AS error_code
  FROM locked j
),
ok AS (SELECT NOT EXISTS (SELECT 1 FROM checked WHERE error IS NOT NULL) AS ok),
-- a run asking to start holds a slot of each of its labels' limits (docs/concurrency.md)
asking AS MATERIALIZED (
  SELECT DISTINCT c.ord, c.tenant_id, label.name
  FROM checked c CROSS JOIN LATERAL jsonb_array_elements_text(${asArray("c.run_labels")}) AS label(name)
  WHERE c.error IS NULL AND NOT c.resent AND c.type = 'Running' AND NOT (c.run_state IS NOT NULL AND c.run_state = ANY($4::text[]))
    AND EXISTS (SELECT 1 FROM flow_concurrency_limit) AND (SELECT ok FROM ok)
),
${startingSql("flow_concurrency_limit", "name")},
${queuedSql("flow-label")},
written AS (SELECT c.* FROM checked c, ok WHERE ok.ok AND NOT c.resent AND c.ord NOT IN (SELECT ord FROM queued)),
inserted AS (
  INSERT INTO flow_run_state (tenant_id, flow_run_id, version, state, message, result, start_time, serialized_state, timestamp)
  SELECT c.tenant_id, c.flow_run_id, c.version, c.type, c.message, c.state->'_result', c.start_time, c.state, clock_timestamp()
  FROM written c
  ORDER BY c.ord
  RETURNING id
),
touched AS (
  UPDATE flow_run fr SET
    heartbeat = CASE WHEN t.beats THEN clock_timestamp() ELSE fr.heartbeat END,
    agent_id = CASE WHEN t.submitted AND EXISTS (SELECT 1 FROM agent WHERE agent.id = $2::uuid) THEN $2::uuid ELSE fr.agent_id END
  FROM (
    SELECT flow_run_id, bool_or(type = ANY($4::text[]) OR type = 'Submitted') AS beats, bool_or(type = 'Submitted') AS submitted
    FROM written GROUP BY flow_run_id
  ) t
  WHERE fr.id = t.flow_run_id AND (t.beats OR t.submitted)
  RETURNING fr.id
),
cancelled AS (
  SELECT DISTINCT ON (flow_run_id) flow_run_id, state, message FROM written
  WHERE type = 'Cancelled' ORDER BY flow_run_id, ord DESC
),
cascade_runs AS (
  SELECT tr.id, tr.tenant_id, tr.version, c.state, c.message FROM task_run tr JOIN cancelled c ON c.flow_run_id = tr.flow_run_id
  WHERE tr.state IS NULL OR NOT (tr.state = ANY($5::text[]))
  ORDER BY tr.id
  FOR NO KEY UPDATE OF tr
),
cascaded AS (
  INSERT INTO task_run_state (tenant_id, task_run_id, version, state, message, serialized_state, timestamp)
  SELECT tenant_id, id, version + 1, 'Cancelled', message, state, clock_timestamp() FROM cascade_runs
  RETURNING task_run_id
)
SELECT c.ord, c.flow_run_id::text AS id, c.error, c.error_code, q.name AS queued_name, q."limit" AS queued_limit
FROM checked c LEFT JOIN queued q ON q.ord = c.ord ORDER BY c.ord`;

// The same for task runs, for the items of one or more requests (groups, `grp`: coalesced requests share a
// statement). Each request is all-or-nothing on its own, and the items of the requests without an error are applied
// as if one after another in statement order (`ord`, which follows grp): consecutive versions per run, and a new state
// without cached inputs gets those of the run's latest state before it when they are a non-empty object; so a
// request that shares a statement stores exactly what it would have stored alone. A running state needs the flow run
// to be exactly `Running`. Each task run is written once per state, by the state trigger, which also sets its
// heartbeat for a running state (migration 000004; v1 wrote the heartbeat with a second UPDATE). The runs are locked
// FOR NO KEY UPDATE, the lock the trigger and its UPDATE take anyway (no key changes), so foreign-key checks of
// concurrent log or state inserts for the same runs do not wait for it. Rows come back per item, in statement order,
// with `grp` and `error`.
const SET_TASK_RUN_STATES_SQL = `
WITH ${batchInput("task_run_id")},
run AS (
  SELECT tr.id, tr.tenant_id, tr.version, tr.flow_run_id, tr.serialized_state, tr.state_timestamp, tr.state, tr.task_id
  FROM task_run tr WHERE tr.id IN (SELECT task_run_id FROM input)
  ORDER BY tr.id
  FOR NO KEY UPDATE
),
item AS (
  SELECT input.*, run.id AS run_id, run.tenant_id, run.version AS run_version, run.flow_run_id AS run_flow_run_id,
    run.state AS run_state, run.task_id AS run_task_id,
    run.state_timestamp AS run_state_timestamp, run.serialized_state AS run_serialized_state,
    run.serialized_state->'cached_inputs' AS run_inputs,
    COALESCE(input.state->'cached_inputs', 'null'::jsonb) NOT IN ('null'::jsonb, '{}'::jsonb) AS has_inputs,
    (fg.settings->>'version_locking_enabled')::boolean IS TRUE AS version_locked,
    row_number() OVER (PARTITION BY input.task_run_id ORDER BY input.ord) = 1 AS first
  FROM input LEFT JOIN run ON run.id = input.task_run_id
  LEFT JOIN flow_run owner ON owner.id = run.flow_run_id LEFT JOIN flow f ON f.id = owner.flow_id LEFT JOIN flow_group fg ON fg.id = f.flow_group_id
),
-- the first item of a run would store the run's cached inputs when it brings none
judged AS (
  SELECT item.*, ${resentSql("item", "first_stored.state")} AS resent
  FROM item CROSS JOIN LATERAL (SELECT CASE
    WHEN NOT item.has_inputs AND jsonb_typeof(item.run_inputs) = 'object' AND item.run_inputs <> '{}'::jsonb
    THEN jsonb_set(item.state, '{cached_inputs}', item.run_inputs) ELSE item.state END AS state) first_stored
),
locked AS (
  SELECT j.*, ${versionLockSql("j", "task", "task_run_id")} AS lock_error FROM judged j
),
checked AS (
  SELECT j.*,
    CASE
      WHEN j.resent THEN NULL
      WHEN j.run_id IS NULL THEN 'State update failed for task run ID ' || j.task_run_id
      WHEN j.lock_error IS NOT NULL THEN j.lock_error
      WHEN j.type = ANY($2::text[]) AND fr.state IS DISTINCT FROM 'Running' THEN
        'State update failed for task run ID ' || j.task_run_id || ': provided a running state but associated flow run '
        || j.run_flow_run_id || ' is not in a running state.'
    END AS error,
    CASE WHEN NOT j.resent AND j.run_id IS NOT NULL AND j.lock_error IS NOT NULL THEN '${VERSION_LOCKING_ERROR}' END AS error_code
  FROM locked j LEFT JOIN flow_run fr ON fr.id = j.run_flow_run_id
),
-- a run asking to start holds a slot of each of its task's tags' limits (docs/concurrency.md)
asking AS MATERIALIZED (
  SELECT DISTINCT c.ord, c.tenant_id, tag.name
  FROM checked c JOIN task t ON t.id = c.run_task_id CROSS JOIN LATERAL jsonb_array_elements_text(${asArray("t.tags")}) AS tag(name)
  WHERE c.error IS NULL AND NOT c.resent AND c.type = 'Running' AND NOT (c.run_state IS NOT NULL AND c.run_state = ANY($2::text[]))
    AND EXISTS (SELECT 1 FROM task_tag_limit)
    AND c.grp NOT IN (SELECT grp FROM checked WHERE error IS NOT NULL)
),
${startingSql("task_tag_limit", "tag")},
${queuedSql("task-tag")},
-- the items to write (not resent, not queued, of the groups without an error), applied one after another: their
-- version, and the place of the last item up to them that brought cached inputs (whose inputs a later item without
-- any gets; before the first such item, the run's current ones)
ready AS (
  SELECT c.*, c.run_version + row_number() OVER w AS version, max(CASE WHEN c.has_inputs THEN c.ord END) OVER w AS inputs_ord
  FROM checked c WHERE NOT c.resent AND c.grp NOT IN (SELECT grp FROM checked WHERE error IS NOT NULL)
    AND c.ord NOT IN (SELECT ord FROM queued)
  WINDOW w AS (PARTITION BY c.task_run_id ORDER BY c.ord)
),
inserted AS (
  INSERT INTO task_run_state (tenant_id, task_run_id, version, state, message, result, start_time, serialized_state, timestamp)
  SELECT c.tenant_id, c.task_run_id, c.version, c.type, c.message, c.state->'_result', c.start_time,
    CASE
      WHEN NOT c.has_inputs AND jsonb_typeof(latest.inputs) = 'object' AND latest.inputs <> '{}'::jsonb
      THEN jsonb_set(c.state, '{cached_inputs}', latest.inputs)
      ELSE c.state
    END,
    clock_timestamp()
  FROM ready c
  LEFT JOIN ready source ON source.ord = c.inputs_ord
  CROSS JOIN LATERAL (SELECT COALESCE(source.state->'cached_inputs', c.run_inputs) AS inputs) latest
  ORDER BY c.ord
  RETURNING task_run_id
)
SELECT c.grp, c.task_run_id::text AS id, c.error, c.error_code, q.name AS queued_name, q."limit" AS queued_limit
FROM checked c LEFT JOIN queued q ON q.ord = c.ord ORDER BY c.ord`;

interface BatchRow {
  id: string;
  error: string | null;
  /** extensions.code of the error, when it has one (VERSION_LOCKING_ERROR). */
  error_code: string | null;
  /** The tag or label whose used-up limit queued the item, and that limit; null when it was not queued. */
  queued_name: string | null;
  queued_limit: number | null;
}

type BatchItem = ReturnType<typeof toBatch>[number];

function toBatch(items: { id: string; state: unknown; version?: number | null }[], idKey: "flow_run_id" | "task_run_id", resendWindow: number) {
  if (items.length > MAX_STATES_PER_REQUEST) {
    throw new ApiError(`A request may set at most ${MAX_STATES_PER_REQUEST} states; this one sets ${items.length}. Send them in several requests.`);
  }
  const at = isoUtc(now());
  return items.map((item) => {
    const prepared = prepareState(item.state, at);
    return {
      [idKey]: item.id,
      state: prepared.state,
      type: prepared.type,
      message: prepared.message,
      start_time: prepared.start_time,
      start_filled: prepared.start_filled,
      version: item.version ?? null,
      resend_window: resendWindow,
    };
  });
}

/** $1 of a state statement: the items of each group (request) in order, with their group and place in the statement. */
function statementInput(groups: BatchItem[][]): string {
  let ord = 0;
  return JSON.stringify(groups.flatMap((items, grp) => items.map((item) => ({ grp, ord: ord++, ...item }))));
}

function results(rows: BatchRow[], kind: "tag" | "label"): StateItemResult[] {
  const failed = rows.find((row) => row.error !== null);
  if (failed) throw new ApiError(failed.error!, failed.error_code ?? undefined);
  return rows.map((row) =>
    row.queued_name === null
      ? { id: row.id, status: "SUCCESS", message: null }
      : { id: row.id, status: "QUEUED", message: queuedMessage(kind, row.queued_name, row.queued_limit!) },
  );
}

/**
 * Sets one new state on each listed flow run, in one statement. `agentId` (header `X-PREFECT-AGENT-ID`) is recorded
 * on runs moved to Submitted when that agent exists. Throws the first item's error; then nothing was written.
 * The cloud hooks matching the new states are owed through the outbox, in the same transaction
 * (cloud_hooks/outbox.ts).
 */
export async function setFlowRunStates(
  db: Queryable,
  items: { flow_run_id: string; state: unknown; version?: number | null }[],
  agentId: string | null = null,
  resendWindow = RESENT_STATE_WINDOW_SECONDS,
): Promise<StateItemResult[]> {
  if (items.length === 0) return [];
  const batch = toBatch(items.map((item) => ({ id: item.flow_run_id, state: item.state, version: item.version })), "flow_run_id", resendWindow);
  const { rows } = await db.query<BatchRow>({
    name: "mutations.set_flow_run_states",
    text: SET_FLOW_RUN_STATES_SQL,
    values: [statementInput([batch]), agentId, SUBMITTED_LOCK_SECONDS, RUNNING_STATES, FINISHED_STATES, SCHEDULED_STATES],
  });
  return results(rows, "label");
}

/**
 * How many set_task_run_states statements of a pool may be in flight before requests wait to share the next one
 * (see coalescer.ts). One keeps Postgres on one statement while the service parses and answers the requests of the
 * next, and makes that statement carry every request that arrived meanwhile. Against two, it writes more states per
 * second from many clients and fewer from two, where the second request waits for the first's statement instead of
 * running beside it (docs/domain.md, "Coalesced task-run states"; the figures are in docs/benchmarks.md).
 */
export const TASK_RUN_STATE_STATEMENTS = 1;

/**
 * A request with at least this many items amortises a statement by itself: it is sent at once, beside the shared
 * statement, not queued behind it. Coalescing batches as well would funnel every batch of the process through one
 * statement at a time (one Postgres backend, one core): concurrent batches then wrote about half of what they write
 * as separate statements.
 */
export const SHARED_STATEMENT_MAX_ITEMS = 10;

/** The task-run state items of each request, written by one statement; each request's rows, in order. */
async function writeTaskRunStates(db: Queryable, groups: BatchItem[][]): Promise<BatchRow[][]> {
  const { rows } = await db.query<BatchRow & { grp: number }>({
    name: "mutations.set_task_run_states",
    text: SET_TASK_RUN_STATES_SQL,
    values: [statementInput(groups), RUNNING_STATES],
  });
  const byGroup = groups.map((): BatchRow[] => []);
  for (const row of rows) byGroup[row.grp]!.push(row);
  return byGroup;
}

const taskRunStateWriters = new WeakMap<Pool, (batch: BatchItem[]) => Promise<BatchRow[]>>();

/**
 * Sets one new state on each listed task run. Throws the first item's error; then nothing was written. On the pool,
 * concurrent calls of fewer than SHARED_STATEMENT_MAX_ITEMS items share statements (coalescer.ts), each still
 * all-or-nothing on its own; a larger call, or a call on a client (inside the caller's transaction), sends its own
 * statement.
 */
export async function setTaskRunStates(
  db: Queryable,
  items: { task_run_id: string; state: unknown; version?: number | null }[],
  resendWindow = RESENT_STATE_WINDOW_SECONDS,
): Promise<StateItemResult[]> {
  if (items.length === 0) return [];
  const batch = toBatch(items.map((item) => ({ id: item.task_run_id, state: item.state, version: item.version })), "task_run_id", resendWindow);
  if (!(db instanceof pg.Pool) || batch.length >= SHARED_STATEMENT_MAX_ITEMS) return results((await writeTaskRunStates(db, [batch]))[0]!, "tag");
  let write = taskRunStateWriters.get(db);
  if (!write) {
    write = coalescer(TASK_RUN_STATE_STATEMENTS, (batches: BatchItem[][]) => writeTaskRunStates(db, batches));
    taskRunStateWriters.set(db, write);
  }
  return results(await write(batch), "tag");
}

/** Sets one state on one flow run (the API-internal form: create_flow_run, cancel_flow_run, archive_flow …). */
export async function setFlowRunState(db: Queryable, flowRunId: string, state: SerializedState): Promise<void> {
  await setFlowRunStates(db, [{ flow_run_id: flowRunId, state }], null);
}

/**
 * cancel_flow_run: a finished run is left alone; a running one becomes Cancelling (the engine finishes it); anything
 * else becomes Cancelled, which cascades to its unfinished task runs. Returns the resulting state name.
 */
export async function cancelFlowRun(db: Pool, flowRunId: string | null | undefined): Promise<string | null> {
  if (!flowRunId) throw new ApiError("Invalid flow run ID.");
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ state: string | null }>("SELECT state FROM flow_run WHERE id = $1 FOR NO KEY UPDATE", [flowRunId]);
    if (rows.length === 0) throw new ApiError(`Invalid flow run ID: ${flowRunId}.`);
    const current = rows[0]!.state;
    if (isFinished(current)) return current;
    const next = isRunning(current)
      ? serializedState("Cancelling", "Flow run is cancelling")
      : serializedState("Cancelled", "Flow run is cancelled");
    await setFlowRunState(client, flowRunId, next);
    return next.type;
  });
}
