// A Prefect Server v1 database as the field has one (docs/migrating-from-v1.md): v1's schema (000001 is exactly that),
// alembic's table at v1's last revision, Hasura's own schema, and rows written the way v1 wrote them, through v1's
// triggers, including what v1 allowed and our constraints refuse (two flow groups of one name in a tenant, two flows
// of one version group with the same version).
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pool } from "../../services/shared/src/database/pool.ts";
import { MIGRATIONS_DIR } from "../../services/shared/src/database/migrations.ts";
import { V1_HEAD_REVISION } from "../../services/shared/src/database/adoption.ts";

/** Turns an empty database into a v1 database holding no rows. */
export async function makeV1Schema(pool: Pool, revision: string = V1_HEAD_REVISION): Promise<void> {
  const text = await readFile(join(MIGRATIONS_DIR, "committed", "000001-v1-schema.sql"), "utf8");
  await pool.query(text.replace(/^(--! .*\n)+/, ""));
  await pool.query(`create table alembic_version (version_num varchar(32) not null, constraint alembic_version_pkc primary key (version_num))`);
  await pool.query("insert into alembic_version (version_num) values ($1)", [revision]);
  await pool.query(`create schema hdb_catalog;
    create table hdb_catalog.hdb_version (hasura_uuid uuid primary key, version text not null, upgraded_on timestamptz not null);
    insert into hdb_catalog.hdb_version values ('${randomUUID()}', '47', now());`);
}

/** What seedV1 wrote, for the tests to find again. */
export interface V1Rows {
  tenantId: string;
  projectId: string;
  /** Two flow groups of the tenant sharing one name (v1 allowed it); the first is the older. */
  flowGroupIds: [string, string];
  /** Three flows of one version group: versions 1, 2 and 2 again (v1 numbered without a lock). */
  flowIds: [string, string, string];
  /** A run that ended Success (four states, its task runs Success, logs) and one still Scheduled in the future. */
  finishedRunId: string;
  scheduledRunId: string;
}

const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();

/** Rows of every kind, written as v1's services wrote them (plain inserts; v1's triggers do the rest). */
export async function seedV1(pool: Pool): Promise<V1Rows> {
  const one = async (sql: string, values: unknown[] = []) => (await pool.query<{ id: string }>(sql, values)).rows[0]!.id;
  const tenantId = await one("insert into tenant (name, slug) values ('default', 'default') returning id");
  const projectId = await one("insert into project (tenant_id, name) values ($1, 'v1 project') returning id", [tenantId]);
  const settings = JSON.stringify({ heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false });
  const versionGroup = randomUUID();
  const groupA = await one(
    "insert into flow_group (tenant_id, name, settings, labels, created) values ($1, $2, $3, '[\"v1\"]', $4) returning id",
    [tenantId, versionGroup, settings, at(600)],
  );
  const groupB = await one("insert into flow_group (tenant_id, name, settings, created) values ($1, $2, $3, $4) returning id", [
    tenantId,
    versionGroup,
    settings,
    at(500),
  ]);
  const flow = (group: string, version: number, minutesAgo: number) =>
    one(
      `insert into flow (tenant_id, project_id, flow_group_id, version, version_group_id, name, core_version, created,
                         serialized_flow, parameters, storage, run_config)
       values ($1, $2, $3, $4, $5, 'v1 flow', '1.4.1', $6, '{"name": "v1 flow", "__version__": "1.4.1"}', '[]',
               '{"type": "Local"}', '{"type": "UniversalRun", "labels": []}') returning id`,
      [tenantId, projectId, group, version, versionGroup, at(minutesAgo)],
    );
  const flowIds: [string, string, string] = [await flow(groupA, 1, 400), await flow(groupB, 2, 300), await flow(groupA, 2, 200)];
  const tasks = [];
  for (const slug of ["extract", "load"]) {
    tasks.push(await one("insert into task (tenant_id, flow_id, name, slug, tags) values ($1, $2, $3, $3, '[]') returning id", [tenantId, flowIds[2], slug]));
  }
  await pool.query("insert into edge (tenant_id, flow_id, upstream_task_id, downstream_task_id) values ($1, $2, $3, $4)", [
    tenantId,
    flowIds[2],
    tasks[0],
    tasks[1],
  ]);
  const run = (name: string, start: string) =>
    one(
      `insert into flow_run (tenant_id, flow_id, name, scheduled_start_time, labels, parameters, context)
       values ($1, $2, $3, $4, '[]', '{}', '{}') returning id`,
      [tenantId, flowIds[2], name, start],
    );
  const state = (runId: string, version: number, type: string, minutesAgo: number, extra = "") =>
    pool.query(
      `insert into flow_run_state (tenant_id, flow_run_id, version, state, message, timestamp, start_time, serialized_state)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [tenantId, runId, version, type, `${type} in v1`, at(minutesAgo), type === "Scheduled" ? at(minutesAgo) : null,
        JSON.stringify({ type, message: `${type} in v1`, __version__: "1.4.1" + extra })],
    );
  const finishedRunId = await run("v1-finished-run", at(120));
  await state(finishedRunId, 1, "Scheduled", 120);
  await state(finishedRunId, 2, "Submitted", 119);
  await state(finishedRunId, 3, "Running", 118);
  const taskRuns = (await pool.query<{ id: string }>("select id from task_run where flow_run_id = $1 order by id", [finishedRunId])).rows;
  for (const taskRun of taskRuns) {
    for (const [version, type] of [[2, "Running"], [3, "Success"]] as const) {
      await pool.query(
        `insert into task_run_state (tenant_id, task_run_id, version, state, message, timestamp, serialized_state)
         values ($1, $2, $3, $4::text, $4::text, $5, jsonb_build_object('type', $4::text))`,
        [tenantId, taskRun.id, version, type, at(117)],
      );
    }
  }
  await state(finishedRunId, 4, "Success", 110);
  for (let i = 0; i < 5; i += 1) {
    await pool.query("insert into log (tenant_id, flow_run_id, timestamp, name, level, message) values ($1, $2, $3, 'prefect', 'INFO', $4)", [
      tenantId,
      finishedRunId,
      at(115 - i),
      `v1 log line ${i}`,
    ]);
  }
  const scheduledRunId = await run("v1-scheduled-run", new Date(Date.now() + 3_600_000).toISOString());
  await state(scheduledRunId, 1, "Scheduled", 0);
  await pool.query("insert into agent (tenant_id, name, type, labels) values ($1, 'v1-agent', 'LocalAgent', '[]')", [tenantId]);
  await pool.query(`insert into cloud_hook (tenant_id, name, type, states, config) values ($1, 'v1 hook', 'WEBHOOK', '["FAILED"]',
    '{"url": "http://127.0.0.1:9/"}')`, [tenantId]);
  await pool.query("insert into message (tenant_id, type, text, content) values ($1, 'CLOUD_HOOK', 'a v1 message', '{}')", [tenantId]);
  return { tenantId, projectId, flowGroupIds: [groupA, groupB], flowIds, finishedRunId, scheduledRunId };
}

/** The number of rows of every table of v1's schema. */
export async function rowCounts(pool: Pool): Promise<Record<string, number>> {
  const tables = ["tenant", "project", "flow_group", "flow", "task", "edge", "flow_run", "flow_run_state", "task_run",
    "task_run_state", "log", "cloud_hook", "message", "agent_config", "agent", "task_run_artifact"];
  const counts: Record<string, number> = {};
  for (const table of tables) counts[table] = Number((await pool.query(`select count(*) from ${table}`)).rows[0].count);
  return counts;
}

/** The tables of v1's schema with each column's type and nullability, as adoption.ts's V1_TABLES lists them. */
export async function v1TablesOf(pool: Pool, tables: string[]): Promise<Record<string, Record<string, string>>> {
  const { rows } = await pool.query<{ table_name: string; column_name: string; type: string; not_null: boolean }>(
    `select c.relname as table_name, a.attname as column_name, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull as not_null
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped and c.relname = any($1::text[])
     order by c.relname, a.attnum`,
    [tables],
  );
  const result: Record<string, Record<string, string>> = {};
  for (const row of rows) (result[row.table_name] ??= {})[row.column_name] = `${row.type}${row.not_null ? " not null" : ""}`;
  return result;
}
