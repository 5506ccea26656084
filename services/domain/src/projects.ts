// Projects (docs/v1-compatibility.md, Smaller domains): unique (tenant_id, name); deleting one deletes its flows
// through the cascades.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError, fromDatabaseError } from "./errors.ts";

type Queryable = Pool | PoolClient;

export async function createProject(db: Queryable, input: { tenant_id: string; name: string; description?: string | null }): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO project (tenant_id, name, description) VALUES ($1, $2, $3) RETURNING id",
      [input.tenant_id, input.name, input.description ?? null],
    );
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

export async function deleteProject(db: Queryable, projectId: string | null | undefined): Promise<boolean> {
  if (!projectId) throw new ApiError("Invalid project ID.");
  const { rowCount } = await db.query("DELETE FROM project WHERE id = $1", [projectId]);
  return rowCount === 1;
}

async function updateProject(db: Queryable, projectId: string, column: "name" | "description", value: string | null): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(`UPDATE project SET ${column} = $2 WHERE id = $1 RETURNING id`, [projectId, value]);
    if (rows.length === 0) throw new ApiError("Update failed");
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

export const setProjectName = (db: Queryable, projectId: string, name: string) => updateProject(db, projectId, "name", name);
export const setProjectDescription = (db: Queryable, projectId: string, description: string | null | undefined) =>
  updateProject(db, projectId, "description", description ?? null);
