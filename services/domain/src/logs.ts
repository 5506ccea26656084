// write_run_logs (docs/v1-compatibility.md, Smaller domains): one multi-row INSERT per batch. Unlike v1, rows get their
// run's tenant_id, and a log naming a flow run or task run that does not exist is dropped instead of failing the whole
// batch.
//
// A batch sent again is stored once (docs/operations.md, "Retried writes"): Prefect Core resends a batch whose answer
// it lost (a connection reset after the server committed), and its logs carry their own timestamps, so the same
// batch is the same text. A batch whose every log has a timestamp leaves a receipt, the SHA-256 of the batch as
// sent, in the same statement; a batch whose receipt exists stores nothing. Receipts are kept LOG_BATCH_RECEIPT_SECONDS
// (the towel prunes them). A batch with a log without a timestamp gets the time of writing for it and no receipt:
// sent twice, it is two batches.
import { createHash } from "node:crypto";
import { deleteInBatches } from "../../shared/src/database/batches.ts";
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";

/** How long a batch's receipt keeps the same batch from being stored again: longer than any client's retries. */
export const LOG_BATCH_RECEIPT_SECONDS = 3_600;
/** Receipts one pruning statement deletes at most. */
const PRUNE_BATCH_SIZE = 10_000;

export interface RunLog {
  flow_run_id: string;
  task_run_id?: string | null;
  timestamp?: string | null;
  message?: string | null;
  name?: string | null;
  level?: string | null;
  info?: unknown;
}

// $1 the batch, $2 its receipt's digest (null: none). A concurrent statement with the same digest waits for this one's
// receipt (the unique index) and then stores nothing.
const WRITE_LOGS_SQL = `
WITH receipt AS (
  INSERT INTO internal.log_batch_receipt (digest) SELECT $2::bytea WHERE $2::bytea IS NOT NULL
  ON CONFLICT (digest) DO NOTHING
  RETURNING digest
)
INSERT INTO log (tenant_id, flow_run_id, task_run_id, timestamp, message, name, level, info)
SELECT fr.tenant_id, l.flow_run_id, tr.id, COALESCE(l.timestamp, now()), l.message, l.name, COALESCE(l.level, 'INFO'), l.info
FROM jsonb_to_recordset($1::jsonb) AS l(ord int, flow_run_id uuid, task_run_id uuid, timestamp timestamptz, message text, name text, level text, info jsonb)
JOIN flow_run fr ON fr.id = l.flow_run_id
LEFT JOIN task_run tr ON tr.id = l.task_run_id
WHERE (l.task_run_id IS NULL OR tr.id IS NOT NULL) AND ($2::bytea IS NULL OR EXISTS (SELECT 1 FROM receipt))
ORDER BY l.ord`;

/** Writes a batch of logs; returns how many rows were stored (none for a batch stored before). */
export async function writeRunLogs(db: Pool | PoolClient, logs: RunLog[]): Promise<number> {
  if (logs.length === 0) return 0;
  const batch = JSON.stringify(logs.map((log, ord) => ({ ord, ...log, info: log.info ?? null })));
  const digest = logs.every((log) => log.timestamp != null) ? createHash("sha256").update(batch).digest() : null;
  const { rowCount } = await db.query({ name: "mutations.write_run_logs", text: WRITE_LOGS_SQL, values: [batch, digest] });
  return rowCount ?? 0;
}

/** Deletes the receipts older than LOG_BATCH_RECEIPT_SECONDS, a batch per statement; returns how many. */
export function pruneLogBatchReceipts(db: Pool, keepSeconds = LOG_BATCH_RECEIPT_SECONDS): Promise<number> {
  return deleteInBatches(
    db,
    {
      name: "towel.log_batch_receipts.prune",
      text: `DELETE FROM internal.log_batch_receipt WHERE digest IN (
               SELECT digest FROM internal.log_batch_receipt WHERE created < now() - make_interval(secs => $1) LIMIT $2)`,
      values: [keepSeconds],
    },
    PRUNE_BATCH_SIZE,
  );
}
