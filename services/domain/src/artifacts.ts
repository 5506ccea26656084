// Task run artifacts (docs/v1-compatibility.md, Smaller domains).
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";

type Queryable = Pool | PoolClient;
const PYTHON_STR_OVERHEAD = 49;

export async function createTaskRunArtifact(
  db: Queryable,
  input: { task_run_id: string; kind: string; data: unknown; tenant_id?: string | null },
  maxPayloadBytes: number,
): Promise<string> {
  if (Buffer.byteLength(JSON.stringify(input.data ?? null), "utf8") + PYTHON_STR_OVERHEAD > maxPayloadBytes) {
    throw new ApiError(`Artifact data payload exceeds ${maxPayloadBytes} bytes limit.`);
  }
  const { rows } = await db.query<{ id: string | null; tenant_id: string | null }>(
    `WITH run AS (SELECT id, tenant_id FROM task_run WHERE id = $1),
     ins AS (
       INSERT INTO task_run_artifact (tenant_id, task_run_id, kind, data)
       SELECT run.tenant_id, run.id, $3, $4 FROM run WHERE $2::uuid IS NULL OR run.tenant_id = $2::uuid
       RETURNING id
     )
     SELECT (SELECT id FROM ins) AS id, run.tenant_id FROM run`,
    [input.task_run_id, input.tenant_id ?? null, input.kind, JSON.stringify(input.data ?? {})],
  );
  if (rows.length === 0) throw new ApiError(`Task run ${input.task_run_id} not found`);
  if (rows[0]!.id === null) throw new ApiError("Invalid tenant ID.");
  return rows[0]!.id;
}

export async function updateTaskRunArtifact(db: Queryable, artifactId: string, data: unknown): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE task_run_artifact SET data = $2 WHERE id = $1", [artifactId, JSON.stringify(data ?? {})]);
  return rowCount === 1;
}

export async function deleteTaskRunArtifact(db: Queryable, artifactId: string): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM task_run_artifact WHERE id = $1", [artifactId]);
  return rowCount === 1;
}
