// Flows (docs/v1-compatibility.md, Flows and flow groups).
//
// Differences from v1 (docs/domain.md): create_flow is one transaction (flow, group, tasks, edges, archiving of
// older versions); the flow group row is locked so concurrent registrations get distinct versions; version groups
// are tenant-scoped for idempotency and archiving; tasks and edges carry the tenant; the task flags (mapped, root,
// terminal, reference) are computed again; archiving cancels and deletes runs set-based.
import { randomUUID } from "node:crypto";
import { withTransaction, type Pool, type PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";
import { serializedState, setFlowRunStates } from "./states.ts";
import { isObject, type Json } from "./inputs.ts";
import { compareVersions, EDGES_UNKNOWN_TASKS, invalid, slugOf, taskRow, type TaskRow } from "./serialized_flows.ts";

type Queryable = Pool | PoolClient;


// Recomputes the task flags of a flow from its edges: mapped = some incoming mapped edge; root = no upstream edge;
// terminal = no downstream edge; reference = listed in the flow's reference_tasks, else terminal.
const TASK_FLAGS_SQL = `
WITH refs AS (
  SELECT array_agg(COALESCE(r->>'slug', r#>>'{}')) AS slugs
  FROM flow f, jsonb_array_elements(CASE WHEN jsonb_typeof(f.serialized_flow->'reference_tasks') = 'array'
                                          THEN f.serialized_flow->'reference_tasks' ELSE '[]'::jsonb END) r
  WHERE f.id = $1
)
UPDATE task t SET
  mapped = EXISTS (SELECT 1 FROM edge e WHERE e.downstream_task_id = t.id AND e.mapped),
  is_root_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.downstream_task_id = t.id),
  is_terminal_task = NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = t.id),
  is_reference_task = CASE WHEN refs.slugs IS NOT NULL THEN t.slug = ANY(refs.slugs)
                           ELSE NOT EXISTS (SELECT 1 FROM edge e WHERE e.upstream_task_id = t.id) END
FROM refs
WHERE t.flow_id = $1`;

/** Inserts tasks (doing nothing for slugs the flow already has), then recomputes the flags. */
async function insertTasks(db: Queryable, flowId: string, tasks: TaskRow[]): Promise<void> {
  await db.query(
    `INSERT INTO task (id, tenant_id, flow_id, slug, name, description, type, max_retries, retry_delay, trigger, tags, auto_generated, cache_key)
     SELECT t.id, f.tenant_id, f.id, t.slug, t.name, t.description, t.type, t.max_retries, t.retry_delay::interval, t.trigger,
            t.tags, t.auto_generated, t.cache_key
     FROM flow f, jsonb_to_recordset($2::jsonb) AS t(id uuid, slug text, name text, description text, type text, max_retries int,
       retry_delay text, trigger text, tags jsonb, auto_generated boolean, cache_key text)
     WHERE f.id = $1
     ON CONFLICT (flow_id, slug) DO NOTHING`,
    [flowId, JSON.stringify(tasks)],
  );
  await db.query(TASK_FLAGS_SQL, [flowId]);
}

/** Inserts edges given by task slugs (doing nothing for existing ones), then recomputes the flags. */
async function insertEdges(db: Queryable, flowId: string, edges: unknown[]): Promise<void> {
  const rows = edges.map((edge) => {
    if (!isObject(edge)) throw invalid("every edge must be an object", edge);
    return {
      upstream: slugOf(edge.upstream_task),
      downstream: slugOf(edge.downstream_task),
      key: edge.key == null ? null : String(edge.key),
      mapped: edge.mapped === true,
    };
  });
  if (rows.some((row) => typeof row.upstream !== "string" || typeof row.downstream !== "string")) {
    throw new ApiError(EDGES_UNKNOWN_TASKS);
  }
  const { rows: counts } = await db.query<{ wanted: number; known: number }>(
    `WITH e AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS e(upstream text, downstream text, key text, mapped boolean)),
     resolved AS (
       SELECT f.tenant_id, e.key, e.mapped, up.id AS upstream_id, down.id AS downstream_id
       FROM e CROSS JOIN flow f
       JOIN task up ON up.flow_id = f.id AND up.slug = e.upstream
       JOIN task down ON down.flow_id = f.id AND down.slug = e.downstream
       WHERE f.id = $1
     ),
     ins AS (
       INSERT INTO edge (tenant_id, flow_id, upstream_task_id, downstream_task_id, key, mapped)
       SELECT r.tenant_id, $1, r.upstream_id, r.downstream_id, r.key, r.mapped FROM resolved r
       WHERE (SELECT count(*) FROM resolved) = (SELECT count(*) FROM e)
       ON CONFLICT (flow_id, downstream_task_id, upstream_task_id) DO NOTHING
     )
     SELECT (SELECT count(*) FROM e)::int AS wanted, (SELECT count(*) FROM resolved)::int AS known`,
    [flowId, JSON.stringify(rows)],
  );
  if (counts[0]!.known !== counts[0]!.wanted) throw new ApiError(EDGES_UNKNOWN_TASKS);
  await db.query(TASK_FLAGS_SQL, [flowId]);
}

/** register_tasks: adds tasks to a flow; tasks with new slugs are also appended to its serialized_flow. */
export async function registerTasks(db: Pool, flowId: string | null | undefined, serializedTasks: unknown): Promise<boolean> {
  if (!flowId) throw new ApiError("Invalid flow ID");
  const tasks = Array.isArray(serializedTasks) ? serializedTasks : [serializedTasks];
  const rows = tasks.map(taskRow);
  return withTransaction(db, async (client) => {
    const { rowCount } = await client.query(
      `UPDATE flow f SET serialized_flow = jsonb_set(COALESCE(f.serialized_flow, '{}'::jsonb), '{tasks}',
         COALESCE(CASE WHEN jsonb_typeof(f.serialized_flow->'tasks') = 'array' THEN f.serialized_flow->'tasks' END, '[]'::jsonb)
         || COALESCE((SELECT jsonb_agg(t) FROM jsonb_array_elements($2::jsonb) t
                      WHERE NOT EXISTS (SELECT 1 FROM task WHERE task.flow_id = f.id AND task.slug = t->>'slug')), '[]'::jsonb))
       WHERE f.id = $1`,
      [flowId, JSON.stringify(tasks)],
    );
    if (rowCount === 0) throw new ApiError("Invalid flow ID");
    await insertTasks(client, flowId, rows);
    return true;
  });
}

/** register_edges: adds edges between tasks of the flow, named by slug. */
export async function registerEdges(db: Pool, flowId: string | null | undefined, serializedEdges: unknown): Promise<boolean> {
  if (!flowId) throw new ApiError("Invalid flow ID");
  const edges = Array.isArray(serializedEdges) ? serializedEdges : [serializedEdges];
  return withTransaction(db, async (client) => {
    const { rowCount } = await client.query("SELECT 1 FROM flow WHERE id = $1", [flowId]);
    if (rowCount === 0) throw new ApiError("Invalid flow ID");
    await insertEdges(client, flowId, edges);
    return true;
  });
}

export interface CreateFlowInput {
  serialized_flow: unknown;
  project_id: string;
  version_group_id?: string | null;
  set_schedule_active: boolean;
  description?: string | null;
  idempotency_key?: string | null;
}

export interface CreateFlowOptions {
  coreVersionCutoff: string;
  /** Activates the schedule of a new flow; called inside the transaction when activation was asked for. */
  activateSchedule?: (client: PoolClient, flowId: string) => Promise<void>;
}

/**
 * create_flow (the GraphQL form): registers a new version of a flow in its version group and archives the group's
 * other versions, all in one transaction. Returns the flow id (an existing one for a repeated idempotency key).
 */
export async function createFlow(db: Pool, input: CreateFlowInput, options: CreateFlowOptions): Promise<string> {
  const flow = input.serialized_flow;
  if (!isObject(flow)) throw invalid("expected an object", flow);
  if (typeof flow.name !== "string" || flow.name === "") throw invalid("a flow needs a name", flow.name);
  const coreVersion = typeof flow.__version__ === "string" ? flow.__version__ : null;
  if (coreVersion !== null && compareVersions(coreVersion, options.coreVersionCutoff) < 0) {
    throw new ApiError(
      `Prefect backends require new flows to be built with Prefect ${options.coreVersionCutoff}+, but this flow was built with Prefect ${coreVersion}.`,
    );
  }
  const tasks = (flow.tasks ?? []) as unknown;
  const edges = (flow.edges ?? []) as unknown;
  const parameters = flow.parameters ?? [];
  if (!Array.isArray(tasks)) throw invalid('"tasks" must be a list', tasks);
  if (!Array.isArray(edges)) throw invalid('"edges" must be a list', edges);
  if (!Array.isArray(parameters)) throw invalid('"parameters" must be a list', parameters);
  const taskRows = tasks.map(taskRow);

  return withTransaction(db, async (client) => {
    const project = await client.query<{ tenant_id: string }>("SELECT tenant_id FROM project WHERE id = $1", [input.project_id]);
    const tenantId = project.rows[0]?.tenant_id;
    if (!tenantId) throw new ApiError("Invalid project.");

    let versionGroupId = input.version_group_id || null;
    if (!versionGroupId) {
      const previous = await client.query<{ version_group_id: string }>(
        `SELECT version_group_id FROM flow WHERE project_id = $1 AND name = $2 AND version_group_id IS NOT NULL
         ORDER BY created DESC LIMIT 1`,
        [input.project_id, flow.name],
      );
      versionGroupId = previous.rows[0]?.version_group_id ?? randomUUID();
    }

    // The group row, created if absent and locked: registrations into one group run one after the other.
    const idempotencyKey = input.idempotency_key ?? null;
    const created = await client.query(
      `INSERT INTO flow_group (tenant_id, name, settings) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
      [tenantId, versionGroupId, JSON.stringify({ heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false, idempotency_key: idempotencyKey })],
    );
    const group = await client.query<{ id: string; settings: Json; schedule: unknown }>(
      "SELECT id, settings, schedule FROM flow_group WHERE tenant_id = $1 AND name = $2 FOR UPDATE",
      [tenantId, versionGroupId],
    );
    const flowGroup = group.rows[0]!;
    if (created.rowCount === 0) {
      const storedKey = flowGroup.settings?.idempotency_key;
      if (idempotencyKey && storedKey && storedKey === idempotencyKey) {
        const existing = await client.query<{ id: string }>(
          `SELECT id FROM flow WHERE tenant_id = $1 AND version_group_id = $2 AND NOT archived ORDER BY version DESC NULLS LAST LIMIT 1`,
          [tenantId, versionGroupId],
        );
        if (existing.rows[0]) return existing.rows[0].id;
      }
      await client.query(
        "UPDATE flow_group SET settings = settings || jsonb_build_object('idempotency_key', $2::text) WHERE id = $1",
        [flowGroup.id, idempotencyKey],
      );
    }

    const inserted = await client.query<{ id: string }>(
      `INSERT INTO flow (tenant_id, project_id, flow_group_id, version_group_id, version, name, description, serialized_flow,
         environment, run_config, storage, parameters, core_version, schedule, archived, is_schedule_active)
       SELECT $1::uuid, $2::uuid, $3::uuid, $4::varchar, COALESCE(max(version), 0) + 1, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb,
              $10::jsonb, $11::jsonb, $12, $13::jsonb, false, false
       FROM flow WHERE tenant_id = $1::uuid AND version_group_id = $4::varchar
       RETURNING id`,
      [
        tenantId,
        input.project_id,
        flowGroup.id,
        versionGroupId,
        flow.name,
        input.description ?? null,
        JSON.stringify(flow),
        jsonOrNull(flow.environment),
        jsonOrNull(flow.run_config),
        jsonOrNull(flow.storage),
        JSON.stringify(parameters),
        coreVersion,
        jsonOrNull(flow.schedule),
      ],
    );
    const flowId = inserted.rows[0]!.id;
    await insertTasks(client, flowId, taskRows);
    await insertEdges(client, flowId, edges);

    const hasSchedule = flow.schedule != null || flowGroup.schedule != null;
    if (input.set_schedule_active && hasSchedule && options.activateSchedule) await options.activateSchedule(client, flowId);

    const others = await client.query<{ id: string }>(
      "SELECT id FROM flow WHERE tenant_id = $1 AND version_group_id = $2 AND id <> $3 AND NOT archived",
      [tenantId, versionGroupId, flowId],
    );
    await archiveFlows(client, others.rows.map((row) => row.id));
    return flowId;
  });
}

const jsonOrNull = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * Archives flows set-based: marks them archived, deletes their auto-scheduled runs that are still Scheduled and
 * cancels their other Scheduled runs ("Flow <id> was archived."). Returns the ids that exist.
 */
export async function archiveFlows(client: Queryable, flowIds: string[]): Promise<string[]> {
  if (flowIds.length === 0) return [];
  const { rows } = await client.query<{ id: string }>("UPDATE flow SET archived = true WHERE id = ANY($1::uuid[]) RETURNING id", [flowIds]);
  if (rows.length === 0) return [];
  const archived = rows.map((row) => row.id);
  await client.query("DELETE FROM flow_run WHERE flow_id = ANY($1::uuid[]) AND state = 'Scheduled' AND auto_scheduled", [archived]);
  const manual = await client.query<{ id: string; flow_id: string }>(
    "SELECT id, flow_id FROM flow_run WHERE flow_id = ANY($1::uuid[]) AND state = 'Scheduled' ORDER BY id",
    [archived],
  );
  await setFlowRunStates(
    client,
    manual.rows.map((run) => ({ flow_run_id: run.id, state: serializedState("Cancelled", `Flow ${run.flow_id} was archived.`) })),
    null,
  );
  return archived;
}

/** archive_flow: false for an unknown flow. */
export async function archiveFlow(db: Pool, flowId: string | null | undefined): Promise<boolean> {
  if (!flowId) throw new ApiError("Must provide flow ID.");
  return withTransaction(db, async (client) => (await archiveFlows(client, [flowId])).length === 1);
}

/** delete_flow: one statement; its tasks, edges and runs go through the cascades, its flow group stays. */
export async function deleteFlow(db: Queryable, flowId: string | null | undefined): Promise<boolean> {
  if (!flowId) throw new ApiError("Must provide flow ID.");
  const { rowCount } = await db.query("DELETE FROM flow WHERE id = $1", [flowId]);
  return rowCount === 1;
}

/** update_flow_project: moves a flow to another project of the same tenant. */
export async function updateFlowProject(db: Queryable, flowId: string | null | undefined, projectId: string | null | undefined): Promise<string> {
  if (!flowId) throw new ApiError("Invalid flow ID.");
  if (!projectId) throw new ApiError("Invalid project ID.");
  const { rows } = await db.query<{ id: string }>(
    `UPDATE flow f SET project_id = p.id FROM project p
     WHERE f.id = $1 AND p.id = $2 AND p.tenant_id IS NOT DISTINCT FROM f.tenant_id RETURNING f.id`,
    [flowId, projectId],
  );
  if (rows.length === 0) throw new ApiError("Invalid flow or project ID.");
  return rows[0]!.id;
}
