// What the towel loops share: the heartbeat cutoff, how they build the serialized states they write, and how a
// pass turns its decisions into rows of the `log` table.
import type { PoolClient } from "../../../shared/src/database/pool.ts";

/** A run whose heartbeat is at least this old counts as lost (v1: 10 minutes). */
export const HEARTBEAT_CUTOFF_SECONDS = 600;

/** The v1 levels the loops write. */
export type LogLevel = "INFO" | "ERROR";

/** One line a pass wrote to the `log` table (and echoes to stdout). */
export interface RunLogRecord {
  /** e.g. `prefect-server.Lazarus.FlowRun` */
  name: string;
  level: LogLevel;
  message: string;
  tenant_id: string | null;
  flow_run_id: string;
  task_run_id: string | null;
}

/** SQL text of a timestamptz expression as Core writes datetimes in serialized states (ISO 8601, UTC, +00:00). */
export const isoUtcSql = (expression: string): string =>
  `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;

/**
 * SQL building a serialized Core state (StateSchema) as jsonb: type, message, empty context, the given cached inputs
 * and no result, plus the extra keys (`start_time`, `run_count`, ...) given as `key => SQL expression`.
 */
export function serializedStateSql(
  typeSql: string,
  messageSql: string,
  options: { cachedInputsSql?: string; extra?: Record<string, string> } = {},
): string {
  const extra = Object.entries(options.extra ?? {}).map(([key, sql]) => `, '${key}', ${sql}`).join("");
  return `jsonb_build_object('type', ${typeSql}, 'message', ${messageSql}, 'context', '{}'::jsonb,
    'cached_inputs', ${options.cachedInputsSql ?? "'{}'::jsonb"}, '_result', '{"type": "NoResultType"}'::jsonb${extra})`;
}

/** SQL of a flow group setting that switches a feature off (`settings` holds `<key>: false`). */
export const settingDisabledSql = (settings: string, key: string): string => `${settings} @> '{"${key}": false}'::jsonb`;

/** SQL joining a flow run (alias `fr`) to its flow (`f`) and flow group (`fg`). */
export const FLOW_GROUP_JOIN_SQL = `JOIN flow f ON f.id = fr.flow_id
  JOIN flow_group fg ON fg.id = f.flow_group_id`;

/**
 * SQL condition: the flow run `fr` has a heartbeat at least `cutoffParam` seconds old and its flow group (`fg`)
 * does not have heartbeats switched off. A run without any heartbeat never matches.
 */
export const staleHeartbeatSql = (cutoffParam: string): string =>
  `fr.heartbeat <= now() - make_interval(secs => ${cutoffParam})
    AND NOT ${settingDisabledSql("fg.settings", "heartbeat_enabled")}`;

/** Columns every pass statement returns for the log rows it wrote. */
export const LOG_RECORD_COLUMNS = "name, level, message, tenant_id::text, flow_run_id::text, task_run_id::text";

/**
 * The `log` rows of a pass's decisions, as a data-modifying CTE body. `source` must provide the columns
 * tenant_id, flow_run_id, task_run_id, name, level, message.
 */
export const insertLogsSql = (source: string): string => `INSERT INTO log (tenant_id, flow_run_id, task_run_id, name, level, message, timestamp)
  SELECT tenant_id, flow_run_id, task_run_id, name, level, message, clock_timestamp() FROM ${source}`;

/**
 * Runs one statement of a pass and returns its log records, each with the id of the flow-run state row it wrote
 * when a cloud hook matches that state (null otherwise, and for task runs).
 */
export async function queryLogRecords(
  client: PoolClient,
  name: string,
  text: string,
  values: unknown[],
): Promise<RunLogRecord[]> {
  const { rows } = await client.query<RunLogRecord>({ name, text, values });
  return rows;
}
