// Flow groups (docs/v1-compatibility.md, Flows and flow groups): the settings shared by every version of a flow.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";
import type { Json } from "./inputs.ts";

type Queryable = Pool | PoolClient;

function requireGroupId(flowGroupId: string | null | undefined): string {
  if (!flowGroupId) throw new ApiError("Invalid flow group ID");
  return flowGroupId;
}

async function setColumn(db: Queryable, flowGroupId: string | null | undefined, column: string, value: unknown): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE flow_group SET ${column} = $2 WHERE id = $1`, [requireGroupId(flowGroupId), value]);
  return rowCount === 1;
}

/** delete_flow_group: one statement; its flows and everything below them go through the cascades. */
export async function deleteFlowGroup(db: Queryable, flowGroupId: string | null | undefined): Promise<boolean> {
  if (!flowGroupId) throw new ApiError("Must provide flow group ID.");
  const { rowCount } = await db.query("DELETE FROM flow_group WHERE id = $1", [flowGroupId]);
  return rowCount === 1;
}

export const setFlowGroupDescription = (db: Queryable, flowGroupId: string | null | undefined, description: string | null | undefined) =>
  setColumn(db, flowGroupId, "description", description ?? null);

/** Labels de-duplicated; NULL stores NULL ("not set"), [] stores [] ("explicitly none"). */
export const setFlowGroupLabels = (db: Queryable, flowGroupId: string | null | undefined, labels: string[] | null | undefined) =>
  setColumn(db, flowGroupId, "labels", labels == null ? null : JSON.stringify([...new Set(labels)]));

export const setFlowGroupRunConfig = (db: Queryable, flowGroupId: string | null | undefined, runConfig: unknown) =>
  setColumn(db, flowGroupId, "run_config", runConfig == null ? null : JSON.stringify(runConfig));

/** Replaces the group's default parameters. */
export const setFlowGroupDefaultParameters = (db: Queryable, flowGroupId: string | null | undefined, parameters: unknown) =>
  setColumn(db, flowGroupId, "default_parameters", JSON.stringify(parameters ?? {}));

/** Merges keys into the settings of a flow's flow group: the heartbeat and Lazarus switches are set by flow id. */
export async function updateFlowGroupSettingsOfFlow(db: Queryable, flowId: string | null | undefined, settings: Json): Promise<boolean> {
  if (!flowId) throw new ApiError("Invalid flow ID.");
  const { rows } = await db.query<{ flows: number; groups: number }>(
    `WITH f AS (SELECT flow_group_id FROM flow WHERE id = $1),
     u AS (UPDATE flow_group SET settings = settings || $2::jsonb WHERE id IN (SELECT flow_group_id FROM f) RETURNING id)
     SELECT (SELECT count(*) FROM f)::int AS flows, (SELECT count(*) FROM u)::int AS groups`,
    [flowId, JSON.stringify(settings)],
  );
  if (rows[0]!.flows === 0) throw new ApiError("Invalid flow ID.");
  if (rows[0]!.groups === 0) throw new ApiError("Invalid flow group ID");
  return true;
}

export const enableFlowHeartbeat = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { heartbeat_enabled: true, disable_heartbeat: false });
export const disableFlowHeartbeat = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { heartbeat_enabled: false, disable_heartbeat: true });
export const enableFlowLazarus = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { lazarus_enabled: true });
export const disableFlowLazarus = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { lazarus_enabled: false });
/** Version locking (beyond v1; docs/version-locking.md): `settings.version_locking_enabled`, where the UI reads it. */
export const enableFlowVersionLock = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { version_locking_enabled: true });
export const disableFlowVersionLock = (db: Queryable, flowId: string | null | undefined) =>
  updateFlowGroupSettingsOfFlow(db, flowId, { version_locking_enabled: false });
