// Lazarus (docs/v1-compatibility.md, The towel): flow runs that are Running or Submitted, whose heartbeat is over 10
// minutes old and that have no task run left to do anything, are given another chance (Scheduled again, up to the
// resurrection limit) or marked Failed once the limit is used up.
//
// A pass is one transaction of two statements, however many runs it touches: the first locks the candidates
// (FOR UPDATE SKIP LOCKED, so two replicas or a concurrent API write never handle the same run twice), inserts
// their new state rows and their log rows; the second counts the resurrections. The state-insert trigger moves each
// run to its new state.
import { withTransaction, type Pool } from "../../../shared/src/database/pool.ts";
import { ACTIVE_TASK_STATES } from "../state_classes.ts";
import {
  HEARTBEAT_CUTOFF_SECONDS,
  LOG_RECORD_COLUMNS,
  insertLogsSql,
  isoUtcSql,
  queryLogRecords,
  serializedStateSql,
  settingDisabledSql,
  staleHeartbeatSql,
  FLOW_GROUP_JOIN_SQL,
  type RunLogRecord,
} from "./common.ts";

export const LAZARUS_LOGGER = "prefect-server.Lazarus.FlowRun";
export const RESCHEDULED_MESSAGE = "Rescheduled by a Lazarus process.";
/** v1 looks at the 500 longest-untouched candidates per pass. */
export const LAZARUS_BATCH_SIZE = 500;

export const failedMessage = (limit: number): string =>
  `A Lazarus process attempted to reschedule this run ${limit} times without success. Marking as failed.`;

export interface LazarusOptions {
  /** services.lazarus.resurrection_attempt_limit (v1: 3). */
  resurrectionAttemptLimit: number;
  batchSize?: number;
  heartbeatCutoffSeconds?: number;
}

export interface LazarusResult {
  /** Runs set back to Scheduled (what v1's pass returned). */
  rescheduled: number;
  /** Runs marked Failed because they used up their resurrections. */
  failed: number;
  logs: RunLogRecord[];
}

// $1 limit, $2 cutoff seconds, $3 active task states, $4 batch size, $5 rescheduled message, $6 failed message.
const LAZARUS_SQL = `
WITH candidate AS (
  SELECT fr.id AS flow_run_id, fr.tenant_id, fr.version, COALESCE(fr.times_resurrected, 0) < $1 AS resurrect,
         COALESCE(fr.times_resurrected, 0) + 1 AS attempt
  FROM flow_run fr
  ${FLOW_GROUP_JOIN_SQL}
  WHERE fr.state IN ('Running', 'Submitted')
    AND ${staleHeartbeatSql("$2")}
    AND NOT ${settingDisabledSql("fg.settings", "lazarus_enabled")}
    AND NOT EXISTS (SELECT 1 FROM task_run tr WHERE tr.flow_run_id = fr.id AND tr.state = ANY($3::text[]))
  ORDER BY fr.updated ASC, fr.id
  LIMIT $4
  FOR UPDATE OF fr SKIP LOCKED
),
decided AS (
  SELECT c.*, clock_timestamp() AS ts,
         CASE WHEN c.resurrect THEN 'Scheduled' ELSE 'Failed' END AS state,
         CASE WHEN c.resurrect THEN $5::text ELSE $6::text END AS state_message,
         '${LAZARUS_LOGGER}' AS name,
         CASE WHEN c.resurrect THEN 'INFO' ELSE 'ERROR' END AS level,
         CASE WHEN c.resurrect THEN $5::text || ' This is attempt ' || c.attempt || '.' ELSE $6::text END AS message,
         NULL::uuid AS task_run_id
  FROM candidate c
),
states AS (
  INSERT INTO flow_run_state (tenant_id, flow_run_id, version, state, message, start_time, serialized_state, timestamp)
  SELECT tenant_id, flow_run_id, version + 1, state, state_message, CASE WHEN resurrect THEN ts END,
         CASE WHEN resurrect
           THEN ${serializedStateSql("state", "state_message", { extra: { start_time: isoUtcSql("ts") } })}
           ELSE ${serializedStateSql("state", "state_message")}
         END,
         ts
  FROM decided
  ORDER BY flow_run_id
  RETURNING id, flow_run_id, tenant_id, state
),
logs AS (${insertLogsSql("decided")})
SELECT ${LOG_RECORD_COLUMNS} FROM decided ORDER BY flow_run_id`;

/** One Lazarus pass. */
export async function runLazarus(db: Pool, options: LazarusOptions): Promise<LazarusResult> {
  const limit = options.resurrectionAttemptLimit;
  return withTransaction(db, async (client) => {
    const logs = await queryLogRecords(client, "towel.lazarus", LAZARUS_SQL, [
      limit,
      options.heartbeatCutoffSeconds ?? HEARTBEAT_CUTOFF_SECONDS,
      ACTIVE_TASK_STATES,
      options.batchSize ?? LAZARUS_BATCH_SIZE,
      RESCHEDULED_MESSAGE,
      failedMessage(limit),
    ]);
    const rescheduled = logs.filter((log) => log.level === "INFO").map((log) => log.flow_run_id);
    if (rescheduled.length > 0) {
      await client.query({
        name: "towel.lazarus.count",
        text: "UPDATE flow_run SET times_resurrected = COALESCE(times_resurrected, 0) + 1 WHERE id = ANY($1::uuid[])",
        values: [rescheduled],
      });
    }
    return { rescheduled: rescheduled.length, failed: logs.length - rescheduled.length, logs };
  });
}
