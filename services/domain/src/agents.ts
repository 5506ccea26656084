// Agents and agent configs (docs/v1-compatibility.md, Smaller domains).
//
// register_agent returns the existing agent with the same tenant, name, type, Core version and (sorted) labels.
// Unlike v1, a NULL field matches only NULL (v1's Hasura null-collapse let a nameless registration match any
// named agent); docs/domain.md.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError, fromDatabaseError } from "./errors.ts";

type Queryable = Pool | PoolClient;

export interface RegisterAgentInput {
  tenant_id?: string | null;
  labels?: string[] | null;
  agent_config_id?: string | null;
  type: string;
  name?: string | null;
  core_version?: string | null;
}

const REGISTER_AGENT_SQL = `
WITH tenant AS (
  SELECT id FROM tenant WHERE $1::uuid IS NULL OR id = $1::uuid ORDER BY (id = $1::uuid) DESC NULLS LAST, created LIMIT 1
),
existing AS (
  SELECT a.id FROM agent a, tenant t
  WHERE a.tenant_id = t.id AND a.name IS NOT DISTINCT FROM $2 AND a.type IS NOT DISTINCT FROM $3
    AND a.core_version IS NOT DISTINCT FROM $4 AND a.labels = $5::jsonb
  ORDER BY a.created LIMIT 1
),
ins AS (
  INSERT INTO agent (tenant_id, name, type, core_version, labels, agent_config_id)
  SELECT t.id, $2, $3, $4, $5::jsonb, $6 FROM tenant t WHERE NOT EXISTS (SELECT 1 FROM existing)
  RETURNING id
)
SELECT id FROM existing UNION ALL SELECT id FROM ins`;

/** register_agent: the id of the matching agent, registered now if there was none. */
export async function registerAgent(db: Queryable, input: RegisterAgentInput): Promise<string> {
  const labels = [...(input.labels ?? [])].sort();
  try {
    const { rows } = await db.query<{ id: string }>({
      name: "mutations.register_agent",
      text: REGISTER_AGENT_SQL,
      values: [input.tenant_id ?? null, input.name ?? null, input.type, input.core_version ?? null, JSON.stringify(labels), input.agent_config_id ?? null],
    });
    if (rows.length === 0) throw new ApiError(input.tenant_id ? "Invalid tenant ID." : "No tenant found.");
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

export async function deleteAgent(db: Queryable, agentId: string | null | undefined): Promise<boolean> {
  if (!agentId) throw new ApiError("Must supply an agent ID to delete.");
  const { rowCount } = await db.query("DELETE FROM agent WHERE id = $1", [agentId]);
  return rowCount === 1;
}

export async function createAgentConfig(db: Queryable, input: { tenant_id: string; name?: string | null; settings?: unknown }): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(
      "INSERT INTO agent_config (tenant_id, name, settings) VALUES ($1, $2, $3) RETURNING id",
      [input.tenant_id, input.name ?? null, JSON.stringify(input.settings ?? {})],
    );
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

export async function deleteAgentConfig(db: Queryable, agentConfigId: string | null | undefined): Promise<boolean> {
  if (!agentConfigId) throw new ApiError("Must supply an agent ID to delete.");
  const { rowCount } = await db.query("DELETE FROM agent_config WHERE id = $1", [agentConfigId]);
  return rowCount === 1;
}

/** update_agent_config: sets only the fields given (non-null). */
export async function updateAgentConfig(
  db: Queryable,
  input: { agent_config_id: string | null | undefined; name?: string | null; settings?: unknown },
): Promise<boolean> {
  if (!input.agent_config_id) throw new ApiError("Invalid agent config ID.");
  const { rowCount } = await db.query(
    "UPDATE agent_config SET name = COALESCE($2, name), settings = COALESCE($3::jsonb, settings) WHERE id = $1",
    [input.agent_config_id, input.name ?? null, input.settings == null ? null : JSON.stringify(input.settings)],
  );
  return rowCount === 1;
}
