// Taking over a database that Prefect Server v1 built and used (docs/migrating-from-v1.md): recognising what a
// database holds before anything is written, checking that a v1 database is what 000001 describes, reporting the rows
// v1 allowed that our constraints do not (and resolving them when asked), and recording 000001 as the baseline.
import type pg from "pg";
import { V1_TABLES } from "./v1_tables.ts";

/** v1's alembic revisions, oldest first; the last is v1's final schema, the one 000001 reproduces. */
export const V1_REVISIONS = [
  "27811b58307b",
  "72e2cd3e0469",
  "c4d792bdd05e",
  "3398e4807bfb",
  "b9086bd4b962",
  "c1f317aa658c",
  "6611fd0ccc73",
  "70528cee0d2b",
  "9cb7539b7363",
  "e148cf9f1e5b",
  "850b76d44332",
  "24f10aeee83e",
  "3c87ad7e0b71",
  "57ac2cb01ac1",
  "7ca57ea2fdff",
  "9116e81c6dc2",
  "459a61bedc9e",
  "a666a3f4e422",
  "ac5747fb571c",
] as const;
export const V1_HEAD_REVISION = V1_REVISIONS.at(-1)!;

/**
 * The oldest PostgreSQL release our migrations and services run on (server_version_num and its name): the services'
 * statements use `WITH … AS MATERIALIZED` (12). The migrations run on 11, v1's; the test suites pass on 12.
 */
export const MINIMUM_POSTGRES = { number: 120000, name: "12" };

/** What a database holds, as far as migrations are concerned. */
export type DatabaseKind =
  | { kind: "empty" }
  | { kind: "ours"; records: string[] }
  | { kind: "v1"; revision: string }
  | { kind: "v1-older"; revision: string }
  | { kind: "unknown"; tables: string[] };

/** Refusals that leave the database untouched; the CLI prints their message alone. */
export class AdoptionError extends Error {
  override name = "AdoptionError";
}

/** Refuses a server older than MINIMUM_POSTGRES, with the version found and the way up. */
export async function checkPostgresVersion(client: pg.Client, minimum = MINIMUM_POSTGRES): Promise<void> {
  const { rows } = await client.query<{ number: string; version: string }>(
    "select current_setting('server_version_num') as number, current_setting('server_version') as version",
  );
  const found = rows[0]!;
  if (Number(found.number) >= minimum.number) return;
  throw new AdoptionError(
    `This database runs PostgreSQL ${found.version}; this server needs PostgreSQL ${minimum.name} or newer. Nothing ` +
      "was changed. Upgrade the cluster first (pg_upgrade, or pg_dump and restore into a new cluster; " +
      "docs/migrating-from-v1.md), then run `prefect-server database upgrade` again.",
  );
}

/** Recognises what the database holds (docs/migrating-from-v1.md, "What the upgrade looks for"). */
export async function inspectDatabase(client: pg.Client): Promise<DatabaseKind> {
  const { rows } = await client.query<{ tables: string[]; migrations: boolean; alembic: boolean }>(
    `select
       coalesce(array_agg(c.relname::text order by c.relname) filter (where n.nspname = 'public' and c.relkind in ('r', 'p')
         and not exists (select 1 from pg_depend d where d.objid = c.oid and d.deptype = 'e')), '{}') as tables,
       to_regclass('graphile_migrate.migrations') is not null as migrations,
       to_regclass('public.alembic_version') is not null as alembic
     from pg_class c join pg_namespace n on n.oid = c.relnamespace`,
  );
  const { tables, migrations, alembic } = rows[0]!;
  if (migrations) {
    const records = (await client.query<{ filename: string }>("select filename from graphile_migrate.migrations order by filename")).rows;
    if (records.length > 0) return { kind: "ours", records: records.map((row) => row.filename) };
  }
  if (alembic) {
    const versions = (await client.query<{ version_num: string }>("select version_num from alembic_version")).rows;
    const revision = versions[0]?.version_num ?? "(none)";
    return revision === V1_HEAD_REVISION ? { kind: "v1", revision } : { kind: "v1-older", revision };
  }
  const own = tables.filter((table) => table !== "alembic_version");
  return own.length === 0 ? { kind: "empty" } : { kind: "unknown", tables: own };
}

/** Why a database of this kind cannot be upgraded as it is, or undefined when it can. */
export function refusal(found: DatabaseKind): string | undefined {
  if (found.kind === "v1-older") {
    const known = (V1_REVISIONS as readonly string[]).includes(found.revision);
    return (
      `This is a Prefect Server v1 database at alembic revision ${found.revision}` +
      `${known ? "" : " (not one of v1's revisions)"}, not at v1's last revision ${V1_HEAD_REVISION}. Nothing was ` +
      "changed. Bring it to v1's last schema with v1's own tools first (`prefect server database upgrade`, or " +
      "`alembic upgrade head` in v1's server), then run `prefect-server database upgrade` again."
    );
  }
  if (found.kind === "unknown") {
    const shown = found.tables.slice(0, 10).join(", ") + (found.tables.length > 10 ? `, … (${found.tables.length} in all)` : "");
    return (
      `This database holds tables (${shown}) but neither this server's migration records nor v1's alembic_version. ` +
      "Nothing was changed. Point the server at an empty database, at one it created, or at a Prefect Server v1 " +
      "database."
    );
  }
  return undefined;
}

/**
 * The ways a v1 database differs from what 000001 describes, beyond those the field is known to have (foreign-key
 * names, the id defaults' schema, the trigger functions' bodies, Hasura's schema, alembic's table): missing tables
 * or columns, other types or nullability. Empty when it is v1's schema.
 */
export async function schemaDifferences(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ table_name: string; column_name: string; type: string; not_null: boolean }>(
    `select c.relname as table_name, a.attname as column_name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as not_null
     from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
       and c.relname = any($1::text[])`,
    [Object.keys(V1_TABLES)],
  );
  const found = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const columns = found.get(row.table_name) ?? new Map<string, string>();
    columns.set(row.column_name, `${row.type}${row.not_null ? " not null" : ""}`);
    found.set(row.table_name, columns);
  }
  const differences: string[] = [];
  for (const [table, columns] of Object.entries(V1_TABLES)) {
    const have = found.get(table);
    if (!have) {
      differences.push(`table ${table} is missing`);
      continue;
    }
    for (const [column, expected] of Object.entries(columns)) {
      const actual = have.get(column);
      if (actual === undefined) differences.push(`column ${table}.${column} is missing`);
      else if (actual !== expected) differences.push(`column ${table}.${column} is ${actual}, not ${expected}`);
    }
  }
  const functions = await client.query<{ name: string }>(
    `select n.nspname || '.' || p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
     where (n.nspname, p.proname) in (('public', 'set_updated_timestamp'), ('public', 'insert_task_runs_after_flow_run_insert'),
       ('public', 'update_flow_run_details_on_state_insert'), ('public', 'update_task_run_details_on_state_insert'),
       ('utility', 'downstream_tasks'), ('utility', 'upstream_tasks'))`,
  );
  const present = new Set(functions.rows.map((row) => row.name));
  for (const name of V1_FUNCTIONS) if (!present.has(name)) differences.push(`function ${name} is missing`);
  return differences;
}

const V1_FUNCTIONS = [
  "public.set_updated_timestamp",
  "public.insert_task_runs_after_flow_run_insert",
  "public.update_flow_run_details_on_state_insert",
  "public.update_task_run_details_on_state_insert",
  "utility.downstream_tasks",
  "utility.upstream_tasks",
];

/** Rows v1 allowed that a migration of ours refuses, with what the user can do about them. */
export interface Conflict {
  /** The migration that would fail on them. */
  migration: string;
  what: string;
  /** One line per offending group of rows. */
  rows: string[];
  /** What resolving them does. */
  resolution: string;
  resolve(client: pg.Client): Promise<void>;
}

/** How many offending groups a report lists before it says how many more there are. */
const SHOWN_CONFLICTS = 20;

/**
 * The rows 000002's unique indexes would refuse: flow groups of one tenant with the same name (v1 created a group
 * "if absent" without a lock), flows of one tenant and version group with the same version (v1 numbered them
 * max + 1 without a lock).
 */
export async function findConflicts(client: pg.Client): Promise<Conflict[]> {
  const conflicts: Conflict[] = [];
  const groups = await client.query<{ tenant_id: string | null; name: string; ids: string[] }>(
    `select tenant_id, name, array_agg(id order by created, id) as ids from flow_group
     group by tenant_id, name having count(*) > 1 order by tenant_id, name`,
  );
  if (groups.rows.length > 0) {
    conflicts.push({
      migration: "000002-improvements-over-v1.sql",
      what: `${groups.rows.length} flow group name(s) used more than once in a tenant`,
      rows: groups.rows.map((row) => `tenant ${row.tenant_id ?? "(none)"}, flow group "${row.name}": ${row.ids.join(", ")}`),
      resolution:
        "each tenant's flow groups of one name become one: the oldest is kept with its settings, labels, schedule and " +
        "default parameters, the flows of the others move to it, and the others are deleted",
      resolve: async (db) => {
        await db.query(
          `with ranked as (
             select id, first_value(id) over (partition by tenant_id, name order by created, id) as keeper from flow_group
           ),
           moved as (update flow set flow_group_id = r.keeper from ranked r where flow.flow_group_id = r.id and r.id <> r.keeper)
           delete from flow_group using ranked r where flow_group.id = r.id and r.id <> r.keeper`,
        );
      },
    });
  }
  const versions = await client.query<{ tenant_id: string | null; version_group_id: string; version: number; ids: string[] }>(
    `select tenant_id, version_group_id, version, array_agg(id order by created, id) as ids from flow
     where version is not null group by tenant_id, version_group_id, version having count(*) > 1
     order by tenant_id, version_group_id, version`,
  );
  if (versions.rows.length > 0) {
    conflicts.push({
      migration: "000002-improvements-over-v1.sql",
      what: `${versions.rows.length} flow version(s) given to more than one flow of a version group`,
      rows: versions.rows.map(
        (row) => `tenant ${row.tenant_id ?? "(none)"}, version group ${row.version_group_id}, version ${row.version}: ${row.ids.join(", ")}`,
      ),
      resolution:
        "of the flows sharing a version, the oldest keeps it; the others get the next free versions of their " +
        "version group, in the order they were registered",
      resolve: async (db) => {
        await db.query(
          `with duplicates as (
             select id, tenant_id, version_group_id,
                    row_number() over (partition by tenant_id, version_group_id, version order by created, id) as place
             from flow where version is not null
           ),
           later as (
             select d.id, (select max(f.version) from flow f where f.tenant_id is not distinct from d.tenant_id
                             and f.version_group_id is not distinct from d.version_group_id)
                          + row_number() over (partition by d.tenant_id, d.version_group_id order by f.created, d.id) as version
             from duplicates d join flow f on f.id = d.id
             where d.place > 1
           )
           update flow set version = later.version from later where flow.id = later.id`,
        );
      },
    });
  }
  return conflicts;
}

/** A report of conflicts for a refusal: what, where, and the flag that resolves them. */
export function conflictReport(conflicts: Conflict[], flag: string): string {
  const lines = ["This v1 database holds rows that this server's constraints do not allow. Nothing was changed."];
  for (const conflict of conflicts) {
    lines.push("", `${conflict.what} (${conflict.migration} would fail on them):`);
    lines.push(...conflict.rows.slice(0, SHOWN_CONFLICTS).map((row) => `  ${row}`));
    if (conflict.rows.length > SHOWN_CONFLICTS) lines.push(`  … and ${conflict.rows.length - SHOWN_CONFLICTS} more`);
    lines.push(`With ${flag}: ${conflict.resolution}.`);
  }
  lines.push("", `Run \`prefect-server database upgrade ${flag}\` to resolve them so (docs/migrating-from-v1.md), or change the rows yourself.`);
  return lines.join("\n");
}
