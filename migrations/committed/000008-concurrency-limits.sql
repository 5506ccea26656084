--! Previous: sha1:8371b32237ae89b6f1614f0158a0ce22833522b1
--! Hash: sha1:1d34b2357c69d12dc35cbc27907241e486f542e1
--! Message: concurrency limits

-- Concurrency limits, beyond v1 (docs/concurrency.md; docs/schema.md, "000008"): per tenant, a limit on the task
-- runs of a tag that may be running at once and on the flow runs of a label. Prefect Cloud had both, and Prefect
-- Core 1.4.1 and the UI v1 speak their API: Core reads `task_tag_limit` (column `tag`), the UI
-- `task_concurrency_limit` and `flow_concurrency_limit` (column `name`). The first two are one table, the second a
-- view of it under the UI's names.

drop view if exists task_concurrency_limit;
drop function if exists internal.task_tag_limit_usage(uuid[]);
drop function if exists internal.flow_concurrency_limit_usage(uuid[], boolean, integer);
drop table if exists internal.flow_run_claim;
drop table if exists task_tag_limit;
drop table if exists flow_concurrency_limit;

create table task_tag_limit (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid not null,
  tag varchar not null,
  "limit" integer not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  constraint task_tag_limit_pkey primary key (id),
  constraint task_tag_limit_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint task_tag_limit_limit_check check ("limit" >= 0)
);
-- one limit per tag and tenant; a unique index, not a constraint, so on_conflict offers the primary key only
create unique index ix_task_tag_limit_tenant_id_tag on task_tag_limit (tenant_id, tag);
create trigger update_timestamp before update on task_tag_limit for each row execute function set_updated_timestamp();

-- the UI's name for the same limits
create view task_concurrency_limit as
  select id, tenant_id, tag as name, "limit", created, updated from task_tag_limit;

create table flow_concurrency_limit (
  id uuid default gen_random_uuid() not null,
  tenant_id uuid not null,
  name varchar not null,
  "limit" integer not null,
  created timestamptz default now() not null,
  updated timestamptz default now() not null,
  constraint flow_concurrency_limit_pkey primary key (id),
  constraint flow_concurrency_limit_tenant_id_fkey foreign key (tenant_id) references tenant (id) on delete cascade,
  constraint flow_concurrency_limit_limit_check check ("limit" >= 0)
);
create unique index ix_flow_concurrency_limit_tenant_id_name on flow_concurrency_limit (tenant_id, name);
create trigger update_timestamp before update on flow_concurrency_limit for each row execute function set_updated_timestamp();

-- A flow run that get_runs_in_queue handed to an agent holds a slot of its labels' limits until the agent submits it
-- (then its Submitted state holds it) or the claim expires: so agents polling at once are not handed more runs than
-- the free slots between them.
create table internal.flow_run_claim (
  flow_run_id uuid primary key references public.flow_run (id) on delete cascade,
  claimed timestamptz not null default now()
);

-- The running task runs of the tags of these limits, counted after locking the limits' rows (in id order, so two
-- callers never wait for each other in a cycle). Volatile, and so in READ COMMITTED the count takes a snapshot of its
-- own, after the lock: it sees every state written by a transaction that held the lock before this one. The caller
-- (the task-run state statement) holds the locks until it commits, so two writers cannot both take a tag's last slot.
create or replace function internal.task_tag_limit_usage(limit_ids uuid[])
returns table (id uuid, name varchar, "limit" integer, used bigint)
language plpgsql volatile
as $$
begin
  perform 1 from public.task_tag_limit l where l.id = any(limit_ids) order by l.id for no key update;
  return query
    select l.id, l.tag, l."limit", (
      select count(*) from public.task_run tr join public.task t on t.id = tr.task_id
      where tr.state in ('Running', 'Cancelling') and tr.tenant_id = l.tenant_id and t.tags ? l.tag
    )
    from public.task_tag_limit l where l.id = any(limit_ids);
end;
$$;

-- The same for flow-run label limits: the flow runs of the tenant with the label that are running (Running,
-- Cancelling), submitted, or handed to an agent by get_runs_in_queue in the last `claim_seconds` and not yet
-- submitted. `with_submitted` chooses what holds a slot: the running states only (a run asking to start) or all
-- three (a poll handing out runs).
create or replace function internal.flow_concurrency_limit_usage(limit_ids uuid[], with_submitted boolean, claim_seconds integer)
returns table (id uuid, name varchar, "limit" integer, used bigint)
language plpgsql volatile
as $$
begin
  perform 1 from public.flow_concurrency_limit l where l.id = any(limit_ids) order by l.id for no key update;
  return query
    select l.id, l.name, l."limit", (
      select count(*) from public.flow_run fr
      where fr.state in ('Running', 'Cancelling', 'Submitted') and (with_submitted or fr.state <> 'Submitted')
        and fr.tenant_id = l.tenant_id and fr.labels ? l.name
    ) + (
      -- claims are few (they expire within seconds): read them first, not the tenant's scheduled runs
      select count(*) from internal.flow_run_claim c join public.flow_run fr on fr.id = c.flow_run_id
      where with_submitted and c.claimed > now() - make_interval(secs => claim_seconds)
        and fr.state in ('Scheduled', 'Paused', 'Resume', 'Retrying', 'Queued')
        and fr.tenant_id = l.tenant_id and fr.labels ? l.name
    )
    from public.flow_concurrency_limit l where l.id = any(limit_ids);
end;
$$;
