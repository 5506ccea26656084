// Retention (beyond v1; docs/operations.md, "Retention"): deleting history the operator no longer wants, under two
// rules that each may be off:
//   - finished flow runs (a state of the Finished family) not updated for the given age go, with their states,
//     task runs, task-run states, artifacts and logs (and their concurrency-limit claims, through the cascade);
//   - logs not written for the given age go, whatever their run.
// A run that is not finished stays however old it is. Age is measured on `updated`, the server's clock of the row's
// last write (a run's finishing state moves it; a log is never rewritten): v1's indexes on flow_run (updated) and
// log (updated) find the oldest rows first, so no index has to be added to either table.
//
// Work is done in batches, each its own short transaction: the runs of a batch are taken with FOR UPDATE SKIP LOCKED
// (two replicas, or the CLI beside the towel, never take the same run; a state or log written for one of them meanwhile
// waits for the batch and then fails its foreign key, as for any deleted run), their children are deleted set-based,
// then the task runs and the runs. Log batches take their rows the same way. A pass interleaves the two kinds until
// both are done or its signal fires; whatever it was stopped by, a pass can simply be run again: a batch is all or
// nothing, and the next pass starts from the oldest rows left.
//
// No trigger fires on these deletes but the foreign keys' cascades, which find the children already gone (their
// probes use v1's indexes on the foreign keys). No counter is kept by a trigger: the dashboard's counts are queries.
// The outbox has no foreign keys: a pending delivery of a deleted state is dropped by the relay.
import { withTransaction, type Pool, type PoolClient } from "../../../shared/src/database/pool.ts";
import { FINISHED_STATES } from "../state_classes.ts";

/** Flow runs deleted per batch (with all their rows). */
export const RUN_BATCH_SIZE = 500;
/** Logs deleted per batch by the log rule. */
export const LOG_BATCH_SIZE = 10_000;

/** Ages in seconds; null switches a rule off. */
export interface RetentionRules {
  /** Finished flow runs not updated for this long go, with everything that belongs to them. */
  flowRunsOlderThanSeconds: number | null;
  /** Logs written this long ago go, whatever their run. */
  logsOlderThanSeconds: number | null;
}

export interface RetentionOptions {
  runBatchSize?: number;
  logBatchSize?: number;
  /** Stops the pass between two batches (a time budget, Ctrl-C); the batch in progress is finished first. */
  signal?: AbortSignal;
  /** Called after each committed batch with the totals so far. */
  onBatch?(removed: Readonly<RemovedRows>): void;
}

/** Rows deleted (or, for a dry run, that would be), per kind. */
export interface RemovedRows {
  flowRuns: number;
  flowRunStates: number;
  taskRuns: number;
  taskRunStates: number;
  artifacts: number;
  logs: number;
}

export interface RetentionResult {
  removed: RemovedRows;
  batches: number;
  /** False when the signal stopped the pass before both rules ran out of rows. */
  complete: boolean;
}

/** The kinds of rows, in the order they are reported: key, field name (loop counts, JSON) and name in sentences. */
const ROW_KINDS: readonly { key: keyof RemovedRows; field: string; label: string }[] = [
  { key: "flowRuns", field: "flow_runs", label: "flow runs" },
  { key: "flowRunStates", field: "flow_run_states", label: "flow-run states" },
  { key: "taskRuns", field: "task_runs", label: "task runs" },
  { key: "taskRunStates", field: "task_run_states", label: "task-run states" },
  { key: "artifacts", field: "artifacts", label: "artifacts" },
  { key: "logs", field: "logs", label: "logs" },
];

export const noRowsRemoved = (): RemovedRows => ({ flowRuns: 0, flowRunStates: 0, taskRuns: 0, taskRunStates: 0, artifacts: 0, logs: 0 });

/** `{flow_runs: 1, flow_run_states: 3, …}`: the rows by their field names. */
export const removedRowsByField = (removed: RemovedRows): Record<string, number> =>
  Object.fromEntries(ROW_KINDS.map(({ key, field }) => [field, removed[key]]));

/** "1 flow run, 3 flow-run states, …, 0 artifacts and 12 logs" (numbers grouped by thousands). */
export function describeRemovedRows(removed: RemovedRows): string {
  const parts = ROW_KINDS.map(({ key, label }) => `${removed[key].toLocaleString("en-US")} ${removed[key] === 1 ? label.replace(/s$/, "") : label}`);
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}

export const retentionIsOff = (rules: RetentionRules): boolean => rules.flowRunsOlderThanSeconds === null && rules.logsOlderThanSeconds === null;

/** SQL of the cutoff for an age parameter: `-infinity` (nothing is older) when the rule is off. */
const cutoffSql = (ageParam: string) => `COALESCE(now() - make_interval(secs => ${ageParam}::float8), '-infinity')`;

// $1 finished states, $2 age (seconds), $3 batch size. Oldest first, through v1's index on flow_run (updated).
const TAKE_RUNS_SQL = `
SELECT id FROM flow_run
WHERE state = ANY($1::text[]) AND updated < ${cutoffSql("$2")}
ORDER BY updated
LIMIT $3
FOR UPDATE SKIP LOCKED`;

// $1 the batch's flow run ids. Every child of the runs and of their task runs, each through its foreign key's index;
// the task runs are read here and deleted by the next statement (a new task run cannot appear meanwhile: creating
// one takes a key-share lock on its flow run, which the batch holds).
const DELETE_CHILDREN_SQL = `
WITH task_runs AS MATERIALIZED (SELECT COALESCE(array_agg(id), '{}') AS ids FROM task_run WHERE flow_run_id = ANY($1::uuid[])),
logs AS (
  DELETE FROM log WHERE flow_run_id = ANY($1::uuid[]) OR task_run_id = ANY((SELECT ids FROM task_runs)::uuid[]) RETURNING 1
),
artifacts AS (DELETE FROM task_run_artifact WHERE task_run_id = ANY((SELECT ids FROM task_runs)::uuid[]) RETURNING 1),
task_run_states AS (DELETE FROM task_run_state WHERE task_run_id = ANY((SELECT ids FROM task_runs)::uuid[]) RETURNING 1),
flow_run_states AS (DELETE FROM flow_run_state WHERE flow_run_id = ANY($1::uuid[]) RETURNING 1)
SELECT (SELECT count(*) FROM logs) AS logs, (SELECT count(*) FROM artifacts) AS artifacts,
       (SELECT count(*) FROM task_run_states) AS task_run_states, (SELECT count(*) FROM flow_run_states) AS flow_run_states`;

// $1 age (seconds), $2 batch size. `log` has no key (v1's table): its rows are taken by their row address, locked, so
// the address cannot change before they are deleted.
const DELETE_LOGS_SQL = `
DELETE FROM log WHERE ctid = ANY(ARRAY(
  SELECT ctid FROM log WHERE updated < ${cutoffSql("$1")} ORDER BY updated LIMIT $2 FOR UPDATE SKIP LOCKED
))`;

// $1 finished states, $2 run age, $3 log age: what a pass would delete now, as joins (the sets can be large). A log
// is counted once: with its run (by flow run, or else by task run), or else as old.
const COUNT_SQL = `
WITH runs AS MATERIALIZED (SELECT id FROM flow_run WHERE state = ANY($1::text[]) AND updated < ${cutoffSql("$2")}),
task_runs AS MATERIALIZED (SELECT tr.id FROM task_run tr JOIN runs r ON r.id = tr.flow_run_id)
SELECT (SELECT count(*) FROM runs) AS flow_runs,
       (SELECT count(*) FROM flow_run_state s JOIN runs r ON r.id = s.flow_run_id) AS flow_run_states,
       (SELECT count(*) FROM task_runs) AS task_runs,
       (SELECT count(*) FROM task_run_state s JOIN task_runs t ON t.id = s.task_run_id) AS task_run_states,
       (SELECT count(*) FROM task_run_artifact a JOIN task_runs t ON t.id = a.task_run_id) AS artifacts,
       (SELECT count(*) FROM log l JOIN runs r ON r.id = l.flow_run_id)
       + (SELECT count(*) FROM log l JOIN task_runs t ON t.id = l.task_run_id
          WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = l.flow_run_id))
       + (SELECT count(*) FROM log l WHERE l.updated < ${cutoffSql("$3")}
          AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = l.flow_run_id)
          AND NOT EXISTS (SELECT 1 FROM task_runs t WHERE t.id = l.task_run_id)) AS logs`;

/** One batch of finished runs with everything that belongs to them; returns the runs deleted and the rows of each kind. */
async function deleteRunBatch(client: PoolClient, ageSeconds: number, batchSize: number): Promise<RemovedRows> {
  const { rows: runs } = await client.query<{ id: string }>({
    name: "towel.retention.take_runs",
    text: TAKE_RUNS_SQL,
    values: [FINISHED_STATES, ageSeconds, batchSize],
  });
  const removed = noRowsRemoved();
  if (runs.length === 0) return removed;
  const ids = runs.map((run) => run.id);
  const { rows } = await client.query<{ logs: number; artifacts: number; task_run_states: number; flow_run_states: number }>({
    name: "towel.retention.delete_children",
    text: DELETE_CHILDREN_SQL,
    values: [ids],
  });
  const taskRuns = await client.query({ name: "towel.retention.delete_task_runs", text: "DELETE FROM task_run WHERE flow_run_id = ANY($1::uuid[])", values: [ids] });
  const flowRuns = await client.query({ name: "towel.retention.delete_flow_runs", text: "DELETE FROM flow_run WHERE id = ANY($1::uuid[])", values: [ids] });
  const children = rows[0]!;
  return {
    flowRuns: flowRuns.rowCount ?? 0,
    flowRunStates: children.flow_run_states,
    taskRuns: taskRuns.rowCount ?? 0,
    taskRunStates: children.task_run_states,
    artifacts: children.artifacts,
    logs: children.logs,
  };
}

const addTo = (total: RemovedRows, batch: RemovedRows) => {
  for (const { key } of ROW_KINDS) total[key] += batch[key];
};

/**
 * One retention pass: batches of runs and of logs, alternately, until both rules run out of rows or the signal
 * fires. Each batch is its own transaction.
 */
export async function runRetention(db: Pool, rules: RetentionRules, options: RetentionOptions = {}): Promise<RetentionResult> {
  const runBatchSize = options.runBatchSize ?? RUN_BATCH_SIZE;
  const logBatchSize = options.logBatchSize ?? LOG_BATCH_SIZE;
  const removed = noRowsRemoved();
  let batches = 0;
  // a rule is done once a batch comes back short: what is left is locked by another pass, which deletes it
  let runsDone = rules.flowRunsOlderThanSeconds === null;
  let logsDone = rules.logsOlderThanSeconds === null;
  const stopped = () => options.signal?.aborted === true;
  while (!(runsDone && logsDone) && !stopped()) {
    if (!runsDone) {
      const batch = await withTransaction(db, (client) => deleteRunBatch(client, rules.flowRunsOlderThanSeconds!, runBatchSize));
      runsDone = batch.flowRuns < runBatchSize;
      addTo(removed, batch);
      batches += 1;
      options.onBatch?.(removed);
    }
    if (!logsDone && !stopped()) {
      const { rowCount } = await db.query({ name: "towel.retention.delete_logs", text: DELETE_LOGS_SQL, values: [rules.logsOlderThanSeconds, logBatchSize] });
      logsDone = (rowCount ?? 0) < logBatchSize;
      removed.logs += rowCount ?? 0;
      batches += 1;
      options.onBatch?.(removed);
    }
  }
  return { removed, batches, complete: runsDone && logsDone };
}

/** What a pass would delete now (a dry run): one read, nothing locked or deleted. */
export async function countRetention(db: Pool, rules: RetentionRules): Promise<RemovedRows> {
  const { rows } = await db.query<Record<string, number>>({
    name: "towel.retention.count",
    text: COUNT_SQL,
    values: [FINISHED_STATES, rules.flowRunsOlderThanSeconds, rules.logsOlderThanSeconds],
  });
  const counted = noRowsRemoved();
  for (const { key, field } of ROW_KINDS) counted[key] = rows[0]![field]!;
  return counted;
}
