// ZombieKiller (docs/v1-compatibility.md, The towel). Each pass, in one transaction:
// 1. Zombie task runs: Running task runs whose *flow run's* heartbeat is over 10 minutes old (task heartbeats are not
//    looked at), in flow groups with heartbeats enabled. A task run with retries left, in a Running flow run, is set
//    to Retrying (start time now + the task's retry_delay); any other is set to Failed. The flow run is left alone.
// 2. Zombie cancelling flow runs: Cancelling flow runs with a stale heartbeat are set to Failed.
// Running flow runs with stale heartbeats are Lazarus's business, not ours.
//
// Each step is one statement: it locks its candidates (FOR UPDATE SKIP LOCKED), inserts their state rows and their
// ERROR log rows. The state-insert triggers move the runs to their new states.
import { withTransaction, type Pool } from "../../../shared/src/database/pool.ts";
import {
  HEARTBEAT_CUTOFF_SECONDS,
  LOG_RECORD_COLUMNS,
  insertLogsSql,
  isoUtcSql,
  queryLogRecords,
  serializedStateSql,
  staleHeartbeatSql,
  FLOW_GROUP_JOIN_SQL,
  type RunLogRecord,
} from "./common.ts";

export const ZOMBIE_TASK_RUN_LOGGER = "prefect-server.ZombieKiller.TaskRun";
export const ZOMBIE_FLOW_RUN_LOGGER = "prefect-server.ZombieKiller.FlowRun";
export const ZOMBIE_FLOW_RUN_MESSAGE = "No heartbeat detected from the flow run; marking the run as failed.";
/** v1 handles at most this many task runs, and as many cancelling flow runs, per pass. */
export const ZOMBIE_BATCH_SIZE = 5000;

export interface ZombieKillerOptions {
  batchSize?: number;
  heartbeatCutoffSeconds?: number;
}

export interface ZombieKillerResult {
  /** Zombie task runs set to Retrying. */
  taskRunsRetried: number;
  /** Zombie task runs set to Failed. */
  taskRunsFailed: number;
  /** Cancelling flow runs set to Failed. */
  flowRunsFailed: number;
  logs: RunLogRecord[];
}

// $1 cutoff seconds, $2 batch size.
const ZOMBIE_TASK_RUNS_SQL = `
WITH candidate AS (
  SELECT tr.id AS task_run_id, tr.flow_run_id, tr.tenant_id, tr.version,
         COALESCE(tr.name, t.name, 'None') AS run_name,
         CASE WHEN jsonb_typeof(tr.serialized_state->'cached_inputs') = 'object'
           THEN tr.serialized_state->'cached_inputs' ELSE '{}'::jsonb END AS cached_inputs,
         COALESCE(t.max_retries, 0) AS max_retries,
         COALESCE(t.retry_delay, interval '0') AS retry_delay,
         (SELECT count(*) FROM task_run_state s WHERE s.task_run_id = tr.id AND s.state = 'Retrying') AS retry_count,
         fr.state = 'Running' AS flow_run_running
  FROM task_run tr
  JOIN flow_run fr ON fr.id = tr.flow_run_id
  ${FLOW_GROUP_JOIN_SQL}
  JOIN task t ON t.id = tr.task_id
  WHERE tr.state = 'Running'
    AND ${staleHeartbeatSql("$1")}
  ORDER BY tr.updated DESC, tr.id
  LIMIT $2
  FOR UPDATE OF tr SKIP LOCKED
),
decided AS (
  SELECT c.*, clock_timestamp() AS ts,
         c.flow_run_running AND c.retry_count < c.max_retries AS retry,
         '${ZOMBIE_TASK_RUN_LOGGER}' AS name, 'ERROR' AS level,
         -- v1's texts word for word, including the missing space after "run."
         CASE WHEN c.flow_run_running AND c.retry_count < c.max_retries
           THEN 'No heartbeat detected from the remote task; retrying the run.This will be retry '
                || (c.retry_count + 1) || ' of ' || c.max_retries || '.'
           ELSE 'No heartbeat detected from the remote task; marking the task run ' || c.task_run_id
                || ' (' || c.run_name || ') as failed.'
         END AS message
  FROM candidate c
),
states AS (
  INSERT INTO task_run_state (tenant_id, task_run_id, version, state, message, start_time, serialized_state, timestamp)
  SELECT tenant_id, task_run_id, version + 1, CASE WHEN retry THEN 'Retrying' ELSE 'Failed' END, message,
         CASE WHEN retry THEN ts + retry_delay END,
         CASE WHEN retry
           THEN ${serializedStateSql("'Retrying'", "message", {
             cachedInputsSql: "cached_inputs",
             extra: { start_time: isoUtcSql("ts + retry_delay"), run_count: "retry_count + 1" },
           })}
           ELSE ${serializedStateSql("'Failed'", "message", { cachedInputsSql: "cached_inputs" })}
         END,
         ts
  FROM decided
  ORDER BY task_run_id
),
logs AS (${insertLogsSql("decided")})
SELECT ${LOG_RECORD_COLUMNS}, retry FROM decided ORDER BY task_run_id`;

// $1 cutoff seconds, $2 batch size, $3 message.
const ZOMBIE_FLOW_RUNS_SQL = `
WITH candidate AS (
  SELECT fr.id AS flow_run_id, fr.tenant_id, fr.version
  FROM flow_run fr
  ${FLOW_GROUP_JOIN_SQL}
  WHERE fr.state = 'Cancelling'
    AND ${staleHeartbeatSql("$1")}
  ORDER BY fr.updated DESC, fr.id
  LIMIT $2
  FOR UPDATE OF fr SKIP LOCKED
),
decided AS (
  SELECT c.*, clock_timestamp() AS ts, NULL::uuid AS task_run_id,
         '${ZOMBIE_FLOW_RUN_LOGGER}' AS name, 'ERROR' AS level, $3::text AS message
  FROM candidate c
),
states AS (
  INSERT INTO flow_run_state (tenant_id, flow_run_id, version, state, message, serialized_state, timestamp)
  SELECT tenant_id, flow_run_id, version + 1, 'Failed', message, ${serializedStateSql("'Failed'", "message")}, ts
  FROM decided
  ORDER BY flow_run_id
  RETURNING id, flow_run_id, tenant_id, state
),
logs AS (${insertLogsSql("decided")})
SELECT ${LOG_RECORD_COLUMNS} FROM decided ORDER BY flow_run_id`;

/** One ZombieKiller pass. */
export async function runZombieKiller(db: Pool, options: ZombieKillerOptions = {}): Promise<ZombieKillerResult> {
  const cutoff = options.heartbeatCutoffSeconds ?? HEARTBEAT_CUTOFF_SECONDS;
  const batchSize = options.batchSize ?? ZOMBIE_BATCH_SIZE;
  return withTransaction(db, async (client) => {
    const { rows: taskRuns } = await client.query<RunLogRecord & { retry: boolean }>({
      name: "towel.zombie_killer.task_runs",
      text: ZOMBIE_TASK_RUNS_SQL,
      values: [cutoff, batchSize],
    });
    const flowRuns = await queryLogRecords(client, "towel.zombie_killer.flow_runs", ZOMBIE_FLOW_RUNS_SQL, [
      cutoff,
      batchSize,
      ZOMBIE_FLOW_RUN_MESSAGE,
    ]);
    const retried = taskRuns.filter((row) => row.retry).length;
    return {
      taskRunsRetried: retried,
      taskRunsFailed: taskRuns.length - retried,
      flowRunsFailed: flowRuns.length,
      logs: [...taskRuns.map(({ retry: _retry, ...log }) => log), ...flowRuns],
    };
  });
}
