--! Previous: -
--! Hash: sha1:3cdd9174189581bb34290a345161563db3750389
--! Message: v1 schema

-- Prefect Server v1's schema as it stood after its 19 alembic revisions (docs/schema.md), in one migration.
-- Column order follows v1 (columns added by later revisions come last), so introspection lists fields as v1 did.
-- Names of constraints and indexes are v1's own: clients refer to them (on_conflict constraints) and v1's tests pin
-- some; seven foreign keys carry the explicit `fk_…` names v1's alembic revisions gave them.

create extension if not exists pgcrypto;
create extension if not exists pg_trgm;

-------------------------------------------------------------------------------------------------------------------
-- updated-timestamp maintenance (attached to every public table below)
-------------------------------------------------------------------------------------------------------------------

create function set_updated_timestamp() returns trigger
language plpgsql as $$
begin
  new.updated = now();
  return new;
end;
$$;

-------------------------------------------------------------------------------------------------------------------
-- tables
-------------------------------------------------------------------------------------------------------------------

create table tenant (
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  name varchar(255) not null,
  slug varchar(255) not null,
  info jsonb,
  settings jsonb default '{}'::jsonb not null,
  updated timestamptz default now() not null,
  constraint tenant_pkey primary key (id),
  constraint tenant_slug_key unique (slug)
);

create table project (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  name varchar not null,
  description varchar,
  updated timestamptz default now() not null,
  constraint project_pkey primary key (id),
  constraint project_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint project_tenant_id_name_key unique (tenant_id, name)
);
create index ix_project_tenant_id on project (tenant_id);
create index ix_project_name on project using gin (name gin_trgm_ops);
create index ix_project_updated on project (updated);

create table flow_group (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  name varchar,
  labels jsonb,
  schedule jsonb,
  settings jsonb default '{}'::jsonb not null,
  default_parameters jsonb default '{}'::jsonb not null,
  run_config jsonb,
  description varchar,
  constraint flow_group_pkey primary key (id),
  constraint flow_group_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade
);
create index ix_flow_group_tenant_id on flow_group (tenant_id);

create table flow (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  version integer,
  name varchar not null,
  description varchar,
  environment jsonb,
  parameters jsonb default '{}'::jsonb,
  project_id uuid not null,
  archived boolean default false not null,
  version_group_id varchar,
  storage jsonb,
  core_version varchar,
  updated timestamptz default now() not null,
  settings jsonb default '{}'::jsonb not null,
  serialized_flow jsonb,
  schedule jsonb,
  is_schedule_active boolean default false not null,
  flow_group_id uuid not null,
  run_config jsonb,
  constraint flow_pkey primary key (id),
  constraint flow_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint flow_project_id_fkey foreign key (project_id) references project (id) on delete cascade,
  constraint flow_flow_group_id_fkey foreign key (flow_group_id) references flow_group (id) on delete cascade
);
create index ix_flow_tenant_id on flow (tenant_id);
create index ix_flow_flow_group_id on flow (flow_group_id);
create index ix_flow_project_id on flow (project_id);
create index ix_flow_name on flow using gin (name gin_trgm_ops);
create index ix_flow_updated on flow (updated);
create index ix_flow_version on flow (version);
create index ix_flow_version_group_id on flow (version_group_id);

create table task (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  flow_id uuid not null,
  name varchar,
  slug varchar,
  description varchar,
  type varchar,
  max_retries integer,
  retry_delay interval,
  trigger varchar,
  mapped boolean default false not null,
  auto_generated boolean default false not null,
  cache_key varchar,
  is_root_task boolean default false not null,
  is_terminal_task boolean default false not null,
  is_reference_task boolean default false not null,
  tags jsonb default '[]'::jsonb not null,
  updated timestamptz default now() not null,
  constraint task_pkey primary key (id),
  constraint task_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint fk_task_flow_id foreign key (flow_id) references flow (id) on delete cascade,
  constraint task_flow_id_slug_key unique (flow_id, slug)
);
create index ix_task_tenant_id on task (tenant_id);
create index ix_task_flow_id on task (flow_id);
create index ix_task_name on task using gin (name gin_trgm_ops);
create index ix_task_tags on task using gin (tags);
create index ix_task_updated on task (updated);

create table edge (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  flow_id uuid not null,
  upstream_task_id uuid not null,
  downstream_task_id uuid not null,
  key varchar,
  mapped boolean default false not null,
  updated timestamptz default now() not null,
  constraint edge_pkey primary key (id),
  constraint edge_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint fk_edge_flow_id foreign key (flow_id) references flow (id) on delete cascade,
  constraint fk_edge_upstream_task_id foreign key (upstream_task_id) references task (id) on delete cascade,
  constraint fk_edge_downstream_task_id foreign key (downstream_task_id) references task (id) on delete cascade,
  constraint edge_flow_id_task_ids_key unique (flow_id, downstream_task_id, upstream_task_id)
);
create index ix_edge_tenant_id on edge (tenant_id);
create index ix_edge_flow_id on edge (flow_id);
create index ix_edge_upstream_task_id on edge (upstream_task_id);
create index ix_edge_downstream_task_id on edge (downstream_task_id);
create index ix_edge_updated on edge (updated);

create table agent_config (
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  tenant_id uuid not null,
  name varchar,
  settings jsonb default '{}'::jsonb not null,
  constraint agent_config_pkey primary key (id),
  constraint agent_config_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade
);
create index ix_agent_config_tenant_id on agent_config (tenant_id);

create table agent (
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  tenant_id uuid not null,
  agent_config_id uuid,
  name varchar,
  type varchar,
  core_version varchar,
  labels jsonb default '[]'::jsonb not null,
  last_queried timestamptz default now(),
  constraint agent_pkey primary key (id),
  constraint agent_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint agent_agent_config_id_fkey foreign key (agent_config_id) references agent_config (id) on delete set null
);
create index ix_agent_tenant_id on agent (tenant_id);
create index ix_agent_agent_config_id on agent (agent_config_id);

create table flow_run (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  flow_id uuid not null,
  parameters jsonb default '{}'::jsonb,
  scheduled_start_time timestamptz default clock_timestamp() not null,
  auto_scheduled boolean default false not null,
  heartbeat timestamptz,
  start_time timestamptz,
  end_time timestamptz,
  version integer default 0 not null,
  state varchar,
  state_timestamp timestamptz,
  state_message varchar,
  state_result jsonb,
  state_start_time timestamptz,
  serialized_state jsonb,
  name varchar,
  context jsonb,
  times_resurrected integer default 0,
  updated timestamptz default now() not null,
  idempotency_key varchar,
  agent_id uuid,
  labels jsonb default '[]'::jsonb not null,
  run_config jsonb,
  constraint flow_run_pkey primary key (id),
  constraint flow_run_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint fk_flow_run_flow_id foreign key (flow_id) references flow (id) on delete cascade,
  constraint flow_run_agent_id_fkey foreign key (agent_id) references agent (id) on delete set null,
  -- NULL keys never collide, so runs without an idempotency key are unconstrained
  constraint ix_flow_run_idempotency_key_unique unique (idempotency_key, flow_id)
);
create index ix_flow_run_tenant_id on flow_run (tenant_id);
create index ix_flow_run_flow_id on flow_run (flow_id);
create index ix_flow_run_flow_id_scheduled_start_time_for_hasura on flow_run (flow_id, scheduled_start_time desc);
create index ix_flow_run_heartbeat on flow_run (heartbeat);
create index ix_flow_run_name on flow_run using gin (name gin_trgm_ops);
create index ix_flow_run_scheduled_start_time on flow_run (scheduled_start_time);
create index ix_flow_run_start_time on flow_run (start_time);
-- v1's name: this indexes flow_run.state (not the flow_run_state table)
create index ix_flow_run_state on flow_run (state);
create index ix_flow_run_updated on flow_run (updated);
create index ix_flow_run_agent_id on flow_run (agent_id);

create table flow_run_state (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  flow_run_id uuid not null,
  "timestamp" timestamptz default clock_timestamp() not null,
  state varchar not null,
  message varchar,
  result jsonb,
  start_time timestamptz,
  serialized_state jsonb not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  version integer default 1,
  constraint flow_run_state_pkey primary key (id),
  constraint flow_run_state_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint flow_run_state_flow_run_id_fkey foreign key (flow_run_id) references flow_run (id) on delete cascade
);
create index ix_flow_run_state_tenant_id on flow_run_state (tenant_id);
create index ix_flow_run_state_flow_run_id on flow_run_state (flow_run_id);
create index ix_flow_run_state_state on flow_run_state (state);
create index ix_flow_run_state_timestamp on flow_run_state ("timestamp");
create index ix_flow_run_state_updated on flow_run_state (updated);

create table task_run (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  flow_run_id uuid not null,
  task_id uuid not null,
  map_index integer default -1 not null,
  version integer default 0 not null,
  heartbeat timestamptz,
  start_time timestamptz,
  end_time timestamptz,
  state varchar,
  state_timestamp timestamptz,
  state_message varchar,
  state_result jsonb,
  state_start_time timestamptz,
  serialized_state jsonb,
  cache_key varchar,
  updated timestamptz default now() not null,
  name varchar,
  constraint task_run_pkey primary key (id),
  constraint task_run_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint fk_task_run_flow_run_id foreign key (flow_run_id) references flow_run (id) on delete cascade,
  constraint fk_task_run_task_id foreign key (task_id) references task (id) on delete cascade,
  constraint task_run_unique_identifier_key unique (flow_run_id, task_id, map_index)
);
create index ix_task_run_tenant_id on task_run (tenant_id);
create index ix_task_run_flow_run_id on task_run (flow_run_id);
create index ix_task_run_task_id on task_run (task_id);
create index ix_task_run_cache_key on task_run (cache_key);
create index ix_task_run_heartbeat on task_run (heartbeat);
-- v1's name: this indexes task_run.state (not the task_run_state table)
create index ix_task_run_state on task_run (state);
create index ix_task_run_updated on task_run (updated);
create index ix_task_run_name_trgm on task_run using gin (name gin_trgm_ops) where name is not null;

create table task_run_state (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  task_run_id uuid not null,
  "timestamp" timestamptz default clock_timestamp() not null,
  state varchar not null,
  message varchar,
  result jsonb,
  start_time timestamptz,
  serialized_state jsonb not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  version integer default 1,
  constraint task_run_state_pkey primary key (id),
  constraint task_run_state_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  -- v1 built this table under a temporary name; the foreign key kept that name
  constraint task_run_state_tmp_table_task_run_id_fkey foreign key (task_run_id) references task_run (id) on delete cascade
);
create index ix_task_run_state_tenant_id on task_run_state (tenant_id);
create index ix_task_run_state_task_run_id on task_run_state (task_run_id);
create index ix_task_run_state_state on task_run_state (state);
create index ix_task_run_state_timestamp on task_run_state ("timestamp");
create index ix_task_run_state_updated on task_run_state (updated);

-- No primary key on purpose: v1 exposes no log_by_pk.
create table log (
  flow_run_id uuid,
  tenant_id uuid,
  task_run_id uuid,
  "timestamp" timestamptz default now() not null,
  name varchar,
  level varchar,
  message varchar,
  info jsonb,
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  is_loaded_from_archive boolean,
  constraint log_flow_run_id_fkey foreign key (flow_run_id) references flow_run (id) on delete cascade,
  constraint log_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint log_task_run_id_fkey foreign key (task_run_id) references task_run (id) on delete cascade
);
create index ix_log_tenant_id on log (tenant_id);
create index ix_log_flow_run_id on log (flow_run_id);
create index ix_log_task_run_id on log (task_run_id);
create index ix_log_updated on log (updated);

create table cloud_hook (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  name varchar,
  states jsonb,
  type varchar not null,
  config jsonb default '{}'::jsonb not null,
  active boolean default true not null,
  version_group_id varchar,
  constraint cloud_hook_pkey primary key (id),
  constraint cloud_hook_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade
);
create index ix_cloud_hook_tenant_id on cloud_hook (tenant_id);
create index ix_cloud_hook_states on cloud_hook using gin (states);
create index ix_cloud_hook_type on cloud_hook (type);
create index ix_cloud_hook_updated on cloud_hook (updated);
create index ix_cloud_hook_version_group_id on cloud_hook (version_group_id);

create table message (
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  tenant_id uuid not null,
  read boolean default false not null,
  type varchar,
  text varchar,
  content jsonb default '{}'::jsonb not null,
  constraint message_pkey primary key (id),
  constraint message_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade
);
create index ix_message_tenant_id on message (tenant_id);

create table task_run_artifact (
  id uuid default gen_random_uuid() not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  tenant_id uuid not null,
  task_run_id uuid not null,
  kind varchar not null,
  data jsonb default '{}'::jsonb not null,
  constraint task_run_artifact_pkey primary key (id),
  constraint task_run_artifact_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint task_run_artifact_task_run_id_fkey foreign key (task_run_id) references task_run (id) on delete cascade
);
create index ix_task_run_artifact_tenant_id on task_run_artifact (tenant_id);
create index ix_task_run_artifact_task_run_id on task_run_artifact (task_run_id);

create trigger update_timestamp before update on tenant for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on project for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on flow_group for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on flow for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on task for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on edge for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on agent_config for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on agent for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on flow_run for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on flow_run_state for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on task_run for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on task_run_state for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on log for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on cloud_hook for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on message for each row execute function set_updated_timestamp();
create trigger update_timestamp before update on task_run_artifact for each row execute function set_updated_timestamp();

-------------------------------------------------------------------------------------------------------------------
-- a new flow run gets one Pending task run per task of its flow (two set-based statements per run)
-------------------------------------------------------------------------------------------------------------------

create function insert_task_runs_after_flow_run_insert() returns trigger
language plpgsql as $$
begin
  with created_task_runs as (
    insert into task_run (tenant_id, flow_run_id, task_id, cache_key, map_index)
    select new.tenant_id, new.id, task.id, task.cache_key, -1
    from task
    where task.flow_id = new.flow_id
    returning task_run.id
  )
  insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state)
  select new.tenant_id, created_task_runs.id, 'Pending', 'Task run created',
         '{"type": "Pending", "message": "Task run created"}'::jsonb
  from created_task_runs;
  return null;
end;
$$;

create trigger insert_task_runs_after_flow_run_insert after insert on flow_run
  for each row execute function insert_task_runs_after_flow_run_insert();

-------------------------------------------------------------------------------------------------------------------
-- inserting a state updates its run: the new state wins when its version >= the run's version
-------------------------------------------------------------------------------------------------------------------

create function update_flow_run_details_on_state_insert() returns trigger
language plpgsql as $$
begin
  -- v1's one UPDATE (its row lock is FOR NO KEY UPDATE, so a concurrent log or heartbeat write on the run does not
  -- wait). The new state wins when its version is at least the run's (a NULL run version counts as 0; a NULL state
  -- version never wins); a losing state changes nothing but still updates the row, so `updated` moves.
  update flow_run set
    version = case when new.version >= coalesce(version, 0) then new.version else version end,
    state = case when new.version >= coalesce(version, 0) then new.state else state end,
    serialized_state = case when new.version >= coalesce(version, 0) then new.serialized_state else serialized_state end,
    state_start_time = case when new.version >= coalesce(version, 0) then new.start_time else state_start_time end,
    state_timestamp = case when new.version >= coalesce(version, 0) then new."timestamp" else state_timestamp end,
    state_message = case when new.version >= coalesce(version, 0) then new.message else state_message end,
    state_result = case when new.version >= coalesce(version, 0) then new.result else state_result end,
    start_time = case
      when new.version >= coalesce(version, 0) and new.state = 'Running' then least(start_time, new."timestamp")
      else start_time
    end,
    end_time = case
      when new.version >= coalesce(version, 0) and new.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')
        then greatest(end_time, new."timestamp")
      else end_time
    end
  where id = new.flow_run_id;
  return null;
end;
$$;

create trigger update_flow_run_details_on_state_insert after insert on flow_run_state
  for each row execute function update_flow_run_details_on_state_insert();

create function update_task_run_details_on_state_insert() returns trigger
language plpgsql as $$
begin
  -- v1's one UPDATE (its row lock is FOR NO KEY UPDATE, so a concurrent log or heartbeat write on the run does not
  -- wait). The new state wins when its version is at least the run's (a NULL run version counts as 0; a NULL state
  -- version never wins); a losing state changes nothing but still updates the row, so `updated` moves.
  update task_run set
    version = case when new.version >= coalesce(version, 0) then new.version else version end,
    state = case when new.version >= coalesce(version, 0) then new.state else state end,
    serialized_state = case when new.version >= coalesce(version, 0) then new.serialized_state else serialized_state end,
    state_start_time = case when new.version >= coalesce(version, 0) then new.start_time else state_start_time end,
    state_timestamp = case when new.version >= coalesce(version, 0) then new."timestamp" else state_timestamp end,
    state_message = case when new.version >= coalesce(version, 0) then new.message else state_message end,
    state_result = case when new.version >= coalesce(version, 0) then new.result else state_result end,
    start_time = case
      when new.version >= coalesce(version, 0) and new.state = 'Running' then least(start_time, new."timestamp")
      else start_time
    end,
    end_time = case
      when new.version >= coalesce(version, 0) and new.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')
        then greatest(end_time, new."timestamp")
      else end_time
    end
  where id = new.task_run_id;
  return null;
end;
$$;

create trigger update_task_run_details_on_state_insert after insert on task_run_state
  for each row execute function update_task_run_details_on_state_insert();

-------------------------------------------------------------------------------------------------------------------
-- task graph traversal (exposed through the data layer as utility_downstream_tasks / utility_upstream_tasks)
-------------------------------------------------------------------------------------------------------------------

create schema utility;

-- Only the row type of the traversal functions; never holds rows.
create table utility.traversal (
  tenant_id uuid,
  task_id uuid,
  depth integer
);

-- Walks edges from the start tasks (depth 0) while the depth is below both depth_limit and 50 (so a NULL depth_limit
-- gives the start tasks only); a task reached by several paths is reported once per (task_id, tenant_id) with its
-- longest distance. Rows after the start carry the edge's tenant.
create function utility.downstream_tasks(start_task_ids uuid[], depth_limit integer default 50)
returns setof utility.traversal
language sql stable as $$
  with recursive walk (task_id, tenant_id, depth) as (
    select task.id, task.tenant_id, 0
    from public.task
    where task.id = any(start_task_ids)
    union
    select edge.downstream_task_id, edge.tenant_id, walk.depth + 1
    from walk
    join public.edge on edge.upstream_task_id = walk.task_id
    where walk.depth < depth_limit and walk.depth < 50
  )
  select walk.tenant_id, walk.task_id, max(walk.depth)::integer as depth
  from walk
  group by walk.task_id, walk.tenant_id
  order by depth, walk.task_id, walk.tenant_id
$$;

create function utility.upstream_tasks(start_task_ids uuid[], depth_limit integer default 50)
returns setof utility.traversal
language sql stable as $$
  with recursive walk (task_id, tenant_id, depth) as (
    select task.id, task.tenant_id, 0
    from public.task
    where task.id = any(start_task_ids)
    union
    select edge.upstream_task_id, edge.tenant_id, walk.depth + 1
    from walk
    join public.edge on edge.downstream_task_id = walk.task_id
    where walk.depth < depth_limit and walk.depth < 50
  )
  select walk.tenant_id, walk.task_id, max(walk.depth)::integer as depth
  from walk
  group by walk.task_id, walk.tenant_id
  order by depth, walk.task_id, walk.tenant_id
$$;
