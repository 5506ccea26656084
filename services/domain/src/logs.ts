// write_run_logs (docs/v1-compatibility.md, Smaller domains): one multi-row INSERT per batch. Unlike v1, rows get their
// run's tenant_id, and a log naming a flow run or task run that does not exist is dropped instead of failing the whole
// batch.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";

export interface RunLog {
  flow_run_id: string;
  task_run_id?: string | null;
  timestamp?: string | null;
  message?: string | null;
  name?: string | null;
  level?: string | null;
  info?: unknown;
}

const WRITE_LOGS_SQL = `
INSERT INTO log (tenant_id, flow_run_id, task_run_id, timestamp, message, name, level, info)
SELECT fr.tenant_id, l.flow_run_id, tr.id, COALESCE(l.timestamp, now()), l.message, l.name, COALESCE(l.level, 'INFO'), l.info
FROM jsonb_to_recordset($1::jsonb) AS l(ord int, flow_run_id uuid, task_run_id uuid, timestamp timestamptz, message text, name text, level text, info jsonb)
JOIN flow_run fr ON fr.id = l.flow_run_id
LEFT JOIN task_run tr ON tr.id = l.task_run_id
WHERE l.task_run_id IS NULL OR tr.id IS NOT NULL
ORDER BY l.ord`;

/** Writes a batch of logs; returns how many rows were stored. */
export async function writeRunLogs(db: Pool | PoolClient, logs: RunLog[]): Promise<number> {
  if (logs.length === 0) return 0;
  const rows = logs.map((log, ord) => ({ ord, ...log, info: log.info ?? null }));
  const { rowCount } = await db.query({ name: "mutations.write_run_logs", text: WRITE_LOGS_SQL, values: [JSON.stringify(rows)] });
  return rowCount ?? 0;
}
