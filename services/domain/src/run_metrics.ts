// What the flow runs look like right now, for the metrics (docs/operations.md, "Metrics"): runs by state, runs that
// finished lately, the due and late runs, the queue per label, the runs whose heartbeat went stale. The towel reads
// it when it is scraped, at most once per its refresh interval.
//
// Each figure is read through an index, so that its cost follows the runs it counts, not the table's size: the
// states outside Finished (few runs: the finished ones grow without bound and are not counted) through the state
// index, the finished ones of the last hour through (state, updated), the due runs through the queue index
// (state, state_start_time), the stale heartbeats through the partial heartbeat index of the watched states. All in
// one read-only transaction with a statement timeout, and with sequential scans turned off: statistics taken while
// most runs were still running (a burst of runs, a fresh database) would otherwise lead the planner to read the
// whole table for a handful of unfinished runs.
import { withTransaction, type Pool } from "../../shared/src/database/pool.ts";
import { FINISHED_STATES, isFinished, RUNNING_STATES, SCHEDULED_STATES, STATE_NAMES, stateListSql } from "./state_classes.ts";
import { FLOW_GROUP_JOIN_SQL, HEARTBEAT_CUTOFF_SECONDS, staleHeartbeatSql } from "./towel/common.ts";

/** Every state outside Finished (`State`, `Pending`, `Scheduled` … `Cancelling`). */
export const UNFINISHED_STATES: readonly string[] = STATE_NAMES.filter((name) => !isFinished(name));
/**
 * The states whose heartbeat the towel watches: Lazarus's Running and Submitted, the ZombieKiller's Cancelling
 * (migration 000002's partial heartbeat index covers exactly these).
 */
export const HEARTBEAT_WATCHED_STATES: readonly string[] = ["Submitted", ...RUNNING_STATES];
/** A due run counts as late once its start time is this far in the past (agents poll every 10 s). */
export const LATE_AFTER_SECONDS = 60;
/** The window of the finished-runs figure. */
export const FINISHED_WINDOW_SECONDS = 3600;
/** The labels with the most due runs that the queue figure lists. */
export const MAX_QUEUE_LABELS = 50;
/** The longest any of the statements may run. */
export const RUN_METRICS_TIMEOUT_MS = 5_000;

export interface RunMetrics {
  /** Flow runs in each state outside Finished (every one of them, 0 when none). */
  byState: Record<string, number>;
  /** Flow runs that entered each finished state within FINISHED_WINDOW_SECONDS and are still in it. */
  finishedRecently: Record<string, number>;
  /** Flow runs in a scheduled state whose start time has passed (the agents' queue). */
  due: number;
  /** Of those, the ones whose start time passed more than LATE_AFTER_SECONDS ago. */
  late: number;
  /** How long ago the start time of the longest-waiting due run passed (0: none due). */
  oldestDueSeconds: number;
  /** Due runs per label (a run with two labels counts under both; `""`: runs without labels), most first. */
  queueDepth: { label: string; runs: number }[];
  /** Flow runs in a watched state whose heartbeat is HEARTBEAT_CUTOFF_SECONDS old, heartbeats on. */
  heartbeatStale: Record<string, number>;
}

const BY_STATE_SQL = `SELECT state, count(*)::int AS runs FROM flow_run WHERE state IN (${stateListSql(UNFINISHED_STATES)}) GROUP BY state`;

// $1 the window in seconds; `updated` bounds the index range, `state_timestamp` says when the state was entered
const FINISHED_SQL = `SELECT state, count(*)::int AS runs FROM flow_run
  WHERE state IN (${stateListSql(FINISHED_STATES)})
    AND updated > now() - make_interval(secs => $1) AND state_timestamp > now() - make_interval(secs => $1)
  GROUP BY state`;

const DUE = `state IN (${stateListSql(SCHEDULED_STATES)}) AND state_start_time <= now()`;

// $1 LATE_AFTER_SECONDS
const DUE_SQL = `SELECT count(*)::int AS due,
    count(*) FILTER (WHERE state_start_time <= now() - make_interval(secs => $1))::int AS late,
    COALESCE(EXTRACT(EPOCH FROM now() - min(state_start_time)), 0)::float8 AS oldest_due_seconds
  FROM flow_run WHERE ${DUE}`;

// $1 MAX_QUEUE_LABELS
const QUEUE_SQL = `SELECT COALESCE(l.label, '') AS label, count(*)::int AS runs
  FROM flow_run fr
  LEFT JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(fr.labels) = 'array' THEN fr.labels END) AS l(label) ON true
  WHERE fr.${DUE}
  GROUP BY 1 ORDER BY runs DESC, label LIMIT $1`;

// $1 the heartbeat cutoff in seconds
const STALE_SQL = `SELECT fr.state, count(*)::int AS runs FROM flow_run fr
  ${FLOW_GROUP_JOIN_SQL}
  WHERE fr.state IN (${stateListSql(HEARTBEAT_WATCHED_STATES)}) AND ${staleHeartbeatSql("$1")}
  GROUP BY fr.state`;

/** `rows` as counts by state, every state of `states` present (0 when it has no row). */
const byState = (states: readonly string[], rows: { state: string; runs: number }[]): Record<string, number> => {
  const counts = Object.fromEntries(states.map((state) => [state, 0]));
  for (const row of rows) counts[row.state] = row.runs;
  return counts;
};

export async function readRunMetrics(db: Pool): Promise<RunMetrics> {
  return withTransaction(db, async (client) => {
    await client.query(`SET TRANSACTION READ ONLY`);
    await client.query("SELECT set_config('statement_timeout', $1, true), set_config('enable_seqscan', 'off', true)", [String(RUN_METRICS_TIMEOUT_MS)]);
    type StateRows = { state: string; runs: number };
    const states = await client.query<StateRows>({ name: "metrics.runs_by_state", text: BY_STATE_SQL });
    const finished = await client.query<StateRows>({ name: "metrics.runs_finished", text: FINISHED_SQL, values: [FINISHED_WINDOW_SECONDS] });
    const due = await client.query<{ due: number; late: number; oldest_due_seconds: number }>({ name: "metrics.runs_due", text: DUE_SQL, values: [LATE_AFTER_SECONDS] });
    const queue = await client.query<{ label: string; runs: number }>({ name: "metrics.queue_by_label", text: QUEUE_SQL, values: [MAX_QUEUE_LABELS] });
    const stale = await client.query<StateRows>({ name: "metrics.stale_heartbeats", text: STALE_SQL, values: [HEARTBEAT_CUTOFF_SECONDS] });
    const { due: dueRuns, late, oldest_due_seconds: oldestDueSeconds } = due.rows[0]!;
    return {
      byState: byState(UNFINISHED_STATES, states.rows),
      finishedRecently: byState(FINISHED_STATES, finished.rows),
      due: dueRuns,
      late,
      oldestDueSeconds,
      queueDepth: queue.rows,
      heartbeatStale: byState(HEARTBEAT_WATCHED_STATES, stale.rows),
    };
  });
}
