-- Undoes 000011: 000008's usage functions back (word for word), then the striped admission dropped.
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

drop trigger concurrency_limit_change on public.task_tag_limit;
drop trigger concurrency_limit_change on public.flow_concurrency_limit;
drop function internal.concurrency_limit_change();
drop function internal.concurrency_limit_usage(text, uuid[], boolean, integer);
drop function internal.concurrency_limit_shared(bigint, bigint, integer);
drop function internal.concurrency_limit_stripes();
drop function internal.concurrency_limit_key(uuid);
