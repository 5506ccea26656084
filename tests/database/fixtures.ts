// Minimal rows for the database tests: a tenant, a flow with tasks and edges, runs. Plain SQL, no API.
import { randomUUID } from "node:crypto";
import type { Pool } from "../../services/shared/src/database/pool.ts";

type Db = Pick<Pool, "query">;

export interface TaskInput {
  id?: string;
  slug?: string;
  cache_key?: string | null;
}

export interface FlowFixture {
  tenantId: string;
  flowId: string;
  /** Task ids in the order the tasks were given. */
  taskIds: string[];
}

export async function insertTenant(db: Db): Promise<string> {
  const slug = `tenant-${randomUUID()}`;
  const { rows } = await db.query<{ id: string }>("insert into tenant (name, slug) values ($1, $1) returning id", [slug]);
  return rows[0]!.id;
}

/** A project, flow group and flow in `tenantId` (a new tenant if omitted), with the given tasks and edges. */
export async function insertFlow(
  db: Db,
  options: { tenantId?: string; tasks?: TaskInput[]; edges?: [upstream: string, downstream: string][] } = {},
): Promise<FlowFixture> {
  const tenantId = options.tenantId ?? (await insertTenant(db));
  const name = `flow-${randomUUID()}`;
  const { rows } = await db.query<{ id: string }>(
    `with project as (insert into project (tenant_id, name) values ($1, $2) returning id),
          flow_group as (insert into flow_group (tenant_id, name) values ($1, $2) returning id)
     insert into flow (tenant_id, name, project_id, flow_group_id, version, version_group_id)
     select $1, $2, project.id, flow_group.id, 1, $2 from project, flow_group
     returning id`,
    [tenantId, name],
  );
  const flowId = rows[0]!.id;
  const taskIds: string[] = [];
  for (const [index, task] of (options.tasks ?? []).entries()) {
    const inserted = await db.query<{ id: string }>(
      `insert into task (id, tenant_id, flow_id, name, slug, cache_key)
       values (coalesce($1::uuid, gen_random_uuid()), $2, $3, $4, $4, $5) returning id`,
      [task.id ?? null, tenantId, flowId, task.slug ?? `task-${index + 1}`, task.cache_key ?? null],
    );
    taskIds.push(inserted.rows[0]!.id);
  }
  for (const [upstream, downstream] of options.edges ?? []) {
    await insertEdge(db, { tenantId, flowId, upstream, downstream });
  }
  return { tenantId, flowId, taskIds };
}

export async function insertEdge(
  db: Db,
  edge: { tenantId: string | null; flowId: string; upstream: string; downstream: string },
): Promise<void> {
  await db.query(
    "insert into edge (tenant_id, flow_id, upstream_task_id, downstream_task_id) values ($1, $2, $3, $4)",
    [edge.tenantId, edge.flowId, edge.upstream, edge.downstream],
  );
}

export async function insertFlowRun(db: Db, flow: Pick<FlowFixture, "tenantId" | "flowId">): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "insert into flow_run (tenant_id, flow_id) values ($1, $2) returning id",
    [flow.tenantId, flow.flowId],
  );
  return rows[0]!.id;
}
