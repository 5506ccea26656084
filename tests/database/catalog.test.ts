// The migrated schema against v1's (docs/schema.md). The expected catalogue below is written from the description of
// v1's schema by hand, not dumped from a database: column order follows v1 (as schema-v1.graphql lists the fields),
// types, defaults, nullability, constraint/index/trigger names and foreign-key delete rules follow v1's tables.
//
// Format, one table per block: a header line (`tenant`, or `utility.traversal`), then its columns
// (`name type [not null] [default expr]`), then `pk:` / `unique:` / `fk:` / `index:` / `unique index:` lines.
// `@id`, `@created`, `@updated` stand for the columns every table has (§1.0 conventions). Every public table also
// gets the `update_timestamp` trigger (§1.2.1); other triggers are listed with `trigger:`.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { downgrade, upgrade } from "../../services/shared/src/database/migrations.ts";
import { type CatalogDump, dumpCatalog } from "../helpers/catalog.ts";
import { createEmptyDatabase, type TestDatabase, useTestDatabase } from "../helpers/database.ts";

const V1_TABLES = `
tenant
  @id
  @created
  name varchar(255) not null
  slug varchar(255) not null
  info jsonb
  settings jsonb not null default '{}'::jsonb
  @updated
  pk: tenant_pkey (id)
  unique: tenant_slug_key (slug)

project
  @id
  tenant_id uuid
  @created
  name varchar not null
  description varchar
  @updated
  pk: project_pkey (id)
  unique: project_tenant_id_name_key (tenant_id, name)
  fk: project_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  index: ix_project_tenant_id (tenant_id)
  index: ix_project_name gin (name gin_trgm_ops)
  index: ix_project_updated (updated)

flow_group
  @id
  tenant_id uuid
  @created
  @updated
  name varchar
  labels jsonb
  schedule jsonb
  settings jsonb not null default '{}'::jsonb
  default_parameters jsonb not null default '{}'::jsonb
  run_config jsonb
  description varchar
  pk: flow_group_pkey (id)
  fk: flow_group_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  index: ix_flow_group_tenant_id (tenant_id)

flow
  @id
  tenant_id uuid
  @created
  version integer
  name varchar not null
  description varchar
  environment jsonb
  parameters jsonb default '{}'::jsonb
  project_id uuid not null
  archived boolean not null default false
  version_group_id varchar
  storage jsonb
  core_version varchar
  @updated
  settings jsonb not null default '{}'::jsonb
  serialized_flow jsonb
  schedule jsonb
  is_schedule_active boolean not null default false
  flow_group_id uuid not null
  run_config jsonb
  pk: flow_pkey (id)
  fk: flow_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: flow_project_id_fkey (project_id) -> project(id) on delete cascade
  fk: flow_flow_group_id_fkey (flow_group_id) -> flow_group(id) on delete cascade
  index: ix_flow_tenant_id (tenant_id)
  index: ix_flow_flow_group_id (flow_group_id)
  index: ix_flow_project_id (project_id)
  index: ix_flow_name gin (name gin_trgm_ops)
  index: ix_flow_updated (updated)
  index: ix_flow_version (version)
  index: ix_flow_version_group_id (version_group_id)

task
  @id
  tenant_id uuid
  @created
  flow_id uuid not null
  name varchar
  slug varchar
  description varchar
  type varchar
  max_retries integer
  retry_delay interval
  trigger varchar
  mapped boolean not null default false
  auto_generated boolean not null default false
  cache_key varchar
  is_root_task boolean not null default false
  is_terminal_task boolean not null default false
  is_reference_task boolean not null default false
  tags jsonb not null default '[]'::jsonb
  @updated
  pk: task_pkey (id)
  unique: task_flow_id_slug_key (flow_id, slug)
  fk: task_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: fk_task_flow_id (flow_id) -> flow(id) on delete cascade
  index: ix_task_tenant_id (tenant_id)
  index: ix_task_flow_id (flow_id)
  index: ix_task_name gin (name gin_trgm_ops)
  index: ix_task_tags gin (tags)
  index: ix_task_updated (updated)

edge
  @id
  tenant_id uuid
  @created
  flow_id uuid not null
  upstream_task_id uuid not null
  downstream_task_id uuid not null
  key varchar
  mapped boolean not null default false
  @updated
  pk: edge_pkey (id)
  unique: edge_flow_id_task_ids_key (flow_id, downstream_task_id, upstream_task_id)
  fk: edge_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: fk_edge_flow_id (flow_id) -> flow(id) on delete cascade
  fk: fk_edge_upstream_task_id (upstream_task_id) -> task(id) on delete cascade
  fk: fk_edge_downstream_task_id (downstream_task_id) -> task(id) on delete cascade
  index: ix_edge_tenant_id (tenant_id)
  index: ix_edge_flow_id (flow_id)
  index: ix_edge_upstream_task_id (upstream_task_id)
  index: ix_edge_downstream_task_id (downstream_task_id)
  index: ix_edge_updated (updated)

flow_run
  @id
  tenant_id uuid
  @created
  flow_id uuid not null
  parameters jsonb default '{}'::jsonb
  scheduled_start_time timestamptz not null default clock_timestamp()
  auto_scheduled boolean not null default false
  heartbeat timestamptz
  start_time timestamptz
  end_time timestamptz
  version integer not null default 0
  state varchar
  state_timestamp timestamptz
  state_message varchar
  state_result jsonb
  state_start_time timestamptz
  serialized_state jsonb
  name varchar
  context jsonb
  times_resurrected integer default 0
  @updated
  idempotency_key varchar
  agent_id uuid
  labels jsonb not null default '[]'::jsonb
  run_config jsonb
  pk: flow_run_pkey (id)
  unique: ix_flow_run_idempotency_key_unique (idempotency_key, flow_id)
  fk: flow_run_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: fk_flow_run_flow_id (flow_id) -> flow(id) on delete cascade
  fk: flow_run_agent_id_fkey (agent_id) -> agent(id) on delete set null
  index: ix_flow_run_tenant_id (tenant_id)
  index: ix_flow_run_flow_id (flow_id)
  index: ix_flow_run_flow_id_scheduled_start_time_for_hasura (flow_id, scheduled_start_time DESC)
  index: ix_flow_run_heartbeat (heartbeat)
  index: ix_flow_run_name gin (name gin_trgm_ops)
  index: ix_flow_run_scheduled_start_time (scheduled_start_time)
  index: ix_flow_run_start_time (start_time)
  index: ix_flow_run_state (state)
  index: ix_flow_run_updated (updated)
  index: ix_flow_run_agent_id (agent_id)
  trigger: insert_task_runs_after_flow_run_insert after insert row -> insert_task_runs_after_flow_run_insert()

flow_run_state
  @id
  tenant_id uuid
  flow_run_id uuid not null
  timestamp timestamptz not null default clock_timestamp()
  state varchar not null
  message varchar
  result jsonb
  start_time timestamptz
  serialized_state jsonb not null
  @created
  @updated
  version integer default 1
  pk: flow_run_state_pkey (id)
  fk: flow_run_state_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: flow_run_state_flow_run_id_fkey (flow_run_id) -> flow_run(id) on delete cascade
  index: ix_flow_run_state_tenant_id (tenant_id)
  index: ix_flow_run_state_flow_run_id (flow_run_id)
  index: ix_flow_run_state_state (state)
  index: ix_flow_run_state_timestamp ("timestamp")
  index: ix_flow_run_state_updated (updated)
  trigger: update_flow_run_details_on_state_insert after insert row -> update_flow_run_details_on_state_insert()

task_run
  @id
  tenant_id uuid
  @created
  flow_run_id uuid not null
  task_id uuid not null
  map_index integer not null default '-1'::integer
  version integer not null default 0
  heartbeat timestamptz
  start_time timestamptz
  end_time timestamptz
  state varchar
  state_timestamp timestamptz
  state_message varchar
  state_result jsonb
  state_start_time timestamptz
  serialized_state jsonb
  cache_key varchar
  @updated
  name varchar
  pk: task_run_pkey (id)
  unique: task_run_unique_identifier_key (flow_run_id, task_id, map_index)
  fk: task_run_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: fk_task_run_flow_run_id (flow_run_id) -> flow_run(id) on delete cascade
  fk: fk_task_run_task_id (task_id) -> task(id) on delete cascade
  index: ix_task_run_tenant_id (tenant_id)
  index: ix_task_run_flow_run_id (flow_run_id)
  index: ix_task_run_task_id (task_id)
  index: ix_task_run_cache_key (cache_key)
  index: ix_task_run_heartbeat (heartbeat)
  index: ix_task_run_state (state)
  index: ix_task_run_updated (updated)
  index: ix_task_run_name_trgm gin (name gin_trgm_ops) where (name IS NOT NULL)

task_run_state
  @id
  tenant_id uuid
  task_run_id uuid not null
  timestamp timestamptz not null default clock_timestamp()
  state varchar not null
  message varchar
  result jsonb
  start_time timestamptz
  serialized_state jsonb not null
  @created
  @updated
  version integer default 1
  pk: task_run_state_pkey (id)
  fk: task_run_state_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: task_run_state_tmp_table_task_run_id_fkey (task_run_id) -> task_run(id) on delete cascade
  index: ix_task_run_state_tenant_id (tenant_id)
  index: ix_task_run_state_task_run_id (task_run_id)
  index: ix_task_run_state_state (state)
  index: ix_task_run_state_timestamp ("timestamp")
  index: ix_task_run_state_updated (updated)
  trigger: update_task_run_details_on_state_insert after insert row -> update_task_run_details_on_state_insert()

log
  flow_run_id uuid
  tenant_id uuid
  task_run_id uuid
  timestamp timestamptz not null default now()
  name varchar
  level varchar
  message varchar
  info jsonb
  @id
  @created
  @updated
  is_loaded_from_archive boolean
  fk: log_flow_run_id_fkey (flow_run_id) -> flow_run(id) on delete cascade
  fk: log_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: log_task_run_id_fkey (task_run_id) -> task_run(id) on delete cascade
  index: ix_log_tenant_id (tenant_id)
  index: ix_log_flow_run_id (flow_run_id)
  index: ix_log_task_run_id (task_run_id)
  index: ix_log_updated (updated)

cloud_hook
  @id
  tenant_id uuid
  @created
  @updated
  name varchar
  states jsonb
  type varchar not null
  config jsonb not null default '{}'::jsonb
  active boolean not null default true
  version_group_id varchar
  pk: cloud_hook_pkey (id)
  fk: cloud_hook_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  index: ix_cloud_hook_tenant_id (tenant_id)
  index: ix_cloud_hook_states gin (states)
  index: ix_cloud_hook_type (type)
  index: ix_cloud_hook_updated (updated)
  index: ix_cloud_hook_version_group_id (version_group_id)

message
  @id
  @created
  @updated
  tenant_id uuid not null
  read boolean not null default false
  type varchar
  text varchar
  content jsonb not null default '{}'::jsonb
  pk: message_pkey (id)
  fk: message_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  index: ix_message_tenant_id (tenant_id)

agent_config
  @id
  @created
  @updated
  tenant_id uuid not null
  name varchar
  settings jsonb not null default '{}'::jsonb
  pk: agent_config_pkey (id)
  fk: agent_config_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  index: ix_agent_config_tenant_id (tenant_id)

agent
  @id
  @created
  @updated
  tenant_id uuid not null
  agent_config_id uuid
  name varchar
  type varchar
  core_version varchar
  labels jsonb not null default '[]'::jsonb
  last_queried timestamptz default now()
  pk: agent_pkey (id)
  fk: agent_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: agent_agent_config_id_fkey (agent_config_id) -> agent_config(id) on delete set null
  index: ix_agent_tenant_id (tenant_id)
  index: ix_agent_agent_config_id (agent_config_id)

task_run_artifact
  @id
  @created
  @updated
  tenant_id uuid not null
  task_run_id uuid not null
  kind varchar not null
  data jsonb not null default '{}'::jsonb
  pk: task_run_artifact_pkey (id)
  fk: task_run_artifact_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  fk: task_run_artifact_task_run_id_fkey (task_run_id) -> task_run(id) on delete cascade
  index: ix_task_run_artifact_tenant_id (tenant_id)
  index: ix_task_run_artifact_task_run_id (task_run_id)

utility.traversal
  tenant_id uuid
  task_id uuid
  depth integer
`;

const V1_FUNCTIONS = [
  "public.set_updated_timestamp() returns trigger language plpgsql volatile",
  "public.insert_task_runs_after_flow_run_insert() returns trigger language plpgsql volatile",
  "public.update_flow_run_details_on_state_insert() returns trigger language plpgsql volatile",
  "public.update_task_run_details_on_state_insert() returns trigger language plpgsql volatile",
  "utility.downstream_tasks(start_task_ids uuid[], depth_limit integer DEFAULT 50) returns SETOF utility.traversal language sql stable",
  "utility.upstream_tasks(start_task_ids uuid[], depth_limit integer DEFAULT 50) returns SETOF utility.traversal language sql stable",
];

// What 000002, 000003, 000007 and 000010 add on top of v1 (docs/schema.md gives the reason for each): `<table> <line>`.
const IMPROVEMENTS = `
flow_group unique index: ix_flow_group_tenant_id_name_unique (tenant_id, name)
flow unique index: ix_flow_tenant_id_version_group_id_version_unique (tenant_id, version_group_id, version)
flow index: ix_flow_schedule_active (id) where (is_schedule_active AND (NOT archived))
flow_run index: ix_flow_run_queue (state, state_start_time)
flow_run index: ix_flow_run_labels gin (labels)
flow_run index: ix_flow_run_heartbeat_active (heartbeat) where ((state)::text = ANY ((ARRAY['Running'::character varying, 'Submitted'::character varying, 'Cancelling'::character varying])::text[]))
task_run index: ix_task_run_queue (state, state_start_time)
task_run index: ix_task_run_running (flow_run_id) where ((state)::text = 'Running'::text)
flow_run index: ix_flow_run_by_state_updated (state, updated)
flow_run index: ix_flow_run_by_state_heartbeat (state, heartbeat)
flow_run index: ix_flow_run_tenant_id_state_start_time_id_scheduled (tenant_id, state_start_time, id) where ((state)::text = ANY ((ARRAY['Scheduled'::character varying, 'Paused'::character varying, 'Resume'::character varying, 'Retrying'::character varying, 'Queued'::character varying])::text[]))
flow_run_state trigger: outbox_cloud_hook_deliveries after insert statement referencing new table as new_states -> internal.outbox_cloud_hook_deliveries()
`;

// What 000004 and 000005 change (docs/schema.md): `<table> <v1 line>` → `<table> <line at head>`. The three trigger
// functions keep their signatures (V1_FUNCTIONS); their bodies change. 000004 adds one function.
const CHANGES: [string, string][] = [
  [
    "flow_run trigger: insert_task_runs_after_flow_run_insert after insert row -> insert_task_runs_after_flow_run_insert()",
    "flow_run trigger: insert_task_runs_after_flow_run_insert after insert statement referencing new table as new_flow_runs -> insert_task_runs_after_flow_run_insert()",
  ],
  ...(["flow_run", "task_run"] as const).map((run): [string, string] => [
    `${run}_state trigger: update_${run}_details_on_state_insert after insert row -> update_${run}_details_on_state_insert()`,
    `${run}_state trigger: update_${run}_details_on_state_insert after insert statement referencing new table as new_states -> update_${run}_details_on_state_insert()`,
  ]),
  ...["flow_run", "flow_run_state", "task_run", "task_run_state"].map((table): [string, string] => [
    `${table} id uuid not null default gen_random_uuid()`,
    `${table} id uuid not null default uuid_v7()`,
  ]),
];
/** Tables our migrations add (000008: the concurrency limits, beyond v1; 000011: the trigger that holds a limit's gate
 * while it changes), in V1_TABLES's format. */
const HEAD_TABLES = `
task_tag_limit
  @id
  tenant_id uuid not null
  tag varchar not null
  limit integer not null
  @created
  @updated
  pk: task_tag_limit_pkey (id)
  fk: task_tag_limit_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  unique index: ix_task_tag_limit_tenant_id_tag (tenant_id, tag)
  trigger: concurrency_limit_change before update row -> internal.concurrency_limit_change()
  constraint: task_tag_limit_limit_check CHECK (("limit" >= 0))

flow_concurrency_limit
  @id
  tenant_id uuid not null
  name varchar not null
  limit integer not null
  @created
  @updated
  pk: flow_concurrency_limit_pkey (id)
  fk: flow_concurrency_limit_tenant_id_fkey (tenant_id) -> tenant(id) on delete cascade
  unique index: ix_flow_concurrency_limit_tenant_id_name (tenant_id, name)
  trigger: concurrency_limit_change before update row -> internal.concurrency_limit_change()
  constraint: flow_concurrency_limit_limit_check CHECK (("limit" >= 0))
`;
const HEAD_FUNCTIONS = [...V1_FUNCTIONS, "public.uuid_v7() returns uuid language sql volatile"];

const CONVENTIONS: Record<string, string> = {
  "@id": "id uuid not null default gen_random_uuid()",
  "@created": "created timestamptz not null default now()",
  "@updated": "updated timestamptz not null default now()",
};
const UPDATE_TIMESTAMP_TRIGGER = "trigger: update_timestamp before update row -> set_updated_timestamp()";

const isColumn = (line: string) => !/^[a-z ]+: /.test(line);
const qualified = (table: string) => (table.includes(".") ? table : `public.${table}`);

/** Parses V1_TABLES (or another list in its format) into the shape dumpCatalog() produces: columns in order, then the other lines sorted. */
function expectedTables(source = V1_TABLES): Record<string, string[]> {
  const tables: Record<string, string[]> = {};
  for (const block of source.trim().split(/\n\s*\n/)) {
    const [header, ...lines] = block.split("\n").map((line) => line.trim());
    const table = qualified(header!);
    const expanded = lines.map((line) => CONVENTIONS[line] ?? line.replace(/\s+/g, " "));
    const others = expanded.filter((line) => !isColumn(line));
    if (table.startsWith("public.")) others.push(UPDATE_TIMESTAMP_TRIGGER);
    tables[table] = [...expanded.filter(isColumn), ...others.sort()];
  }
  return tables;
}

function withImprovements(tables: Record<string, string[]>): Record<string, string[]> {
  const result = structuredClone(tables);
  for (const [from, to] of CHANGES) {
    const [table, ...words] = from.split(" ");
    const [line, replacement] = [words.join(" "), to.split(" ").slice(1).join(" ")];
    const lines = result[qualified(table!)]!;
    expect(lines).toContain(line);
    const replaced = lines.map((l) => (l === line ? replacement : l));
    result[qualified(table!)] = [...replaced.filter(isColumn), ...replaced.filter((l) => !isColumn(l)).sort()];
  }
  for (const line of IMPROVEMENTS.trim().split("\n")) {
    const [table, ...rest] = line.split(" ");
    const lines = result[qualified(table!)]!;
    const columns = lines.filter(isColumn);
    result[qualified(table!)] = [...columns, ...[...lines.filter((l) => !isColumn(l)), rest.join(" ")].sort()];
  }
  return { ...result, ...expectedTables(HEAD_TABLES) };
}

function checkCatalog(actual: () => CatalogDump, expected: () => Record<string, string[]>, functions: readonly string[]) {
  test(`has exactly ${functions === V1_FUNCTIONS ? "v1's 16 public tables" : "v1's 16 public tables, the two of the concurrency limits"} and utility.traversal`, () => {
    expect(Object.keys(actual().tables).sort()).toEqual(Object.keys(expected()).sort());
  });

  test.each(Object.keys(functions === V1_FUNCTIONS ? expectedTables() : expected()))("%s matches the spec", (table) => {
    expect(actual().tables[table]).toEqual(expected()[table]);
  });

  test(`has ${functions === V1_FUNCTIONS ? "v1's six functions" : "v1's six functions and uuid_v7()"}`, () => {
    expect(actual().functions).toEqual([...functions].sort());
  });

  test("has v1's 19 triggers (16 update_timestamp, the run insert trigger, the two state triggers); at head the outbox's, and the limits' update_timestamp and concurrency_limit_change", () => {
    const triggers = Object.values(actual().tables).flat().filter((line) => line.startsWith("trigger: "));
    expect(triggers).toHaveLength(functions === V1_FUNCTIONS ? 19 : 24);
    expect(triggers.filter((line) => line === UPDATE_TIMESTAMP_TRIGGER)).toHaveLength(functions === V1_FUNCTIONS ? 16 : 18);
  });
}

describe("v1 schema (after 000001)", () => {
  let database: TestDatabase;
  let catalog: CatalogDump;
  beforeAll(async () => {
    database = await createEmptyDatabase();
    await upgrade({ connectionString: database.url });
    await downgrade({ connectionString: database.url, target: "000001" });
    catalog = await dumpCatalog(database.pool);
  });
  afterAll(async () => {
    await database?.drop();
  });

  checkCatalog(() => catalog, expectedTables, V1_FUNCTIONS);

  test("installs pgcrypto and pg_trgm", async () => {
    const { rows } = await database.pool.query<{ extname: string }>(
      "select extname from pg_extension where extname in ('pgcrypto', 'pg_trgm') order by extname",
    );
    expect(rows.map((row) => row.extname)).toEqual(["pg_trgm", "pgcrypto"]);
  });

  test("ix_flow_run_idempotency_key_unique is a constraint and a unique index of that name", async () => {
    const { rows } = await database.pool.query(
      `select i.indisunique as unique, pg_get_indexdef(i.indexrelid) as definition
       from pg_index i join pg_constraint c on c.conindid = i.indexrelid
       where c.conname = 'ix_flow_run_idempotency_key_unique' and i.indexrelid = 'ix_flow_run_idempotency_key_unique'::regclass`,
    );
    expect(rows).toEqual([
      {
        unique: true,
        definition:
          "CREATE UNIQUE INDEX ix_flow_run_idempotency_key_unique ON public.flow_run USING btree (idempotency_key, flow_id)",
      },
    ]);
  });

  test("log has no primary key", () => {
    expect(catalog.tables["public.log"]!.some((line) => line.startsWith("pk: "))).toBe(false);
  });
});

describe("head schema (v1 + 000002 … 000011)", () => {
  const db = useTestDatabase();
  let catalog: CatalogDump;
  beforeAll(async () => {
    catalog = await dumpCatalog(db.pool);
  });

  checkCatalog(
    () => catalog,
    () => withImprovements(expectedTables()),
    HEAD_FUNCTIONS,
  );

  test("the additions are unique indexes, not constraints, so the on_conflict constraint names stay v1's", async () => {
    const { rows } = await db.pool.query<{ conname: string }>(
      `select conname from pg_constraint
       where contype = 'u' and connamespace = 'public'::regnamespace order by conname`,
    );
    expect(rows.map((row) => row.conname)).toEqual([
      "edge_flow_id_task_ids_key",
      "ix_flow_run_idempotency_key_unique",
      "project_tenant_id_name_key",
      "task_flow_id_slug_key",
      "task_run_unique_identifier_key",
      "tenant_slug_key",
    ]);
  });
});
