--! Previous: sha1:f5ac5bf974f2ed234839c87701dd01b4c4f30848
--! Hash: sha1:8371b32237ae89b6f1614f0158a0ce22833522b1
--! Message: outbox, log batch receipts and states written once per run

-- Durable follow-ups of writes, and runs given many states in one statement (docs/schema.md, "000007").
--
-- 1. The outbox. A flow-run state that a cloud hook matches gets an outbox row, one per (state, hook), written by a
--    trigger in the same transaction as the state (v1, and this server until now, queued the delivery after the
--    commit, so a crash or a Redis outage between the two lost it). The towel's relay moves pending rows to the
--    delivery queue and the delivery worker marks them done; a row is pending until then, whatever happened to the
--    queue meanwhile. The tables live in a schema of their own, `internal`: they are no part of v1's API, and the
--    data graph serves `public` only.
-- 2. Log batch receipts: the digest of each write_run_logs batch whose logs all carry their own timestamps, so that a
--    batch a client sends again after losing the answer (a connection reset) is not stored twice.
-- 3. The state triggers write a run given several states in one statement once, with the net effect of its states
--    one after the other, instead of one UPDATE per state: every UPDATE of one row in one transaction leaves a row
--    version the next must step over, so N states of one run cost O(N²).

create schema if not exists internal;

-- one row per cloud-hook delivery owed; `done` when delivered, dropped (the hook or state is gone) or given up
create table if not exists internal.outbox (
  id bigint generated always as identity primary key,
  state_id uuid not null,
  hook_id uuid not null,
  created timestamptz not null default now(),
  enqueued timestamptz,
  done timestamptz,
  outcome text check (outcome in ('delivered', 'dropped', 'failed'))
);
-- the relay reads the pending rows in order; pruning finds the done ones by age
create index if not exists ix_outbox_pending on internal.outbox (id) where done is null;
create index if not exists ix_outbox_done on internal.outbox (done) where done is not null;
-- the delivery worker marks its row done by (state, hook)
create index if not exists ix_outbox_state_id_hook_id on internal.outbox (state_id, hook_id);

create or replace function internal.outbox_cloud_hook_deliveries() returns trigger
language plpgsql
as $$
begin
  -- nearly every database has no active hook: then a state write pays one probe of a tiny table
  if not exists (select 1 from public.cloud_hook where active) then
    return null;
  end if;
  -- a hook matches a new state when it is active, of the run's tenant, lists the state's name (uppercased, that
  -- exact state) and has no version group or the flow's
  insert into internal.outbox (state_id, hook_id)
  select s.id, h.id
  from new_states s
  join public.flow_run r on r.id = s.flow_run_id
  join public.flow f on f.id = r.flow_id
  join public.cloud_hook h on h.tenant_id = r.tenant_id and h.active and h.states ? upper(s.state)
    and (h.version_group_id is null or h.version_group_id = f.version_group_id)
  order by s."timestamp", s.id, h.id;
  -- no NOTIFY to wake the relay: committing a notification takes a lock that every notifying transaction of the
  -- database queues for, which serialises concurrent state writes; the relay polls instead
  return null;
end;
$$;

drop trigger if exists outbox_cloud_hook_deliveries on public.flow_run_state;
create trigger outbox_cloud_hook_deliveries after insert on public.flow_run_state
  referencing new table as new_states
  for each statement execute function internal.outbox_cloud_hook_deliveries();

-- a write_run_logs batch already stored, by the SHA-256 of its logs; kept an hour (the towel prunes older ones)
create table if not exists internal.log_batch_receipt (
  digest bytea primary key,
  created timestamptz not null default now()
);
create index if not exists ix_log_batch_receipt_created on internal.log_batch_receipt (created);

create or replace function public.update_flow_run_details_on_state_insert() returns trigger
language plpgsql
-- the UPDATE below probes the runs by primary key; a hash join would read the whole table for a large statement
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  several_states uuid[];
begin
  several_states := array(select flow_run_id from new_states group by flow_run_id having count(*) > 1);

  -- runs with one state in this statement; a NULL run version counts as 0, a NULL state version never wins
  update flow_run r set
    version = case when s.version >= coalesce(r.version, 0) then s.version else r.version end,
    state = case when s.version >= coalesce(r.version, 0) then s.state else r.state end,
    serialized_state = case when s.version >= coalesce(r.version, 0) then s.serialized_state else r.serialized_state end,
    state_start_time = case when s.version >= coalesce(r.version, 0) then s.start_time else r.state_start_time end,
    state_timestamp = case when s.version >= coalesce(r.version, 0) then s."timestamp" else r.state_timestamp end,
    state_message = case when s.version >= coalesce(r.version, 0) then s.message else r.state_message end,
    state_result = case when s.version >= coalesce(r.version, 0) then s.result else r.state_result end,
    start_time = case when s.version >= coalesce(r.version, 0) and s.state = 'Running' then least(r.start_time, s."timestamp") else r.start_time end,
    end_time = case when s.version >= coalesce(r.version, 0) and s.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') then greatest(r.end_time, s."timestamp") else r.end_time end
  from new_states s
  where r.id = s.flow_run_id and s.flow_run_id <> all (several_states)
    and case
      -- a winner: unless the run, written in this transaction, already holds exactly what it would write
      when s.version >= coalesce(r.version, 0) then
        (r.updated = now() and r.version = s.version and r.state = s.state
         and r.serialized_state::text = s.serialized_state::text
         and r.state_start_time is not distinct from s.start_time and r.state_timestamp = s."timestamp"
         and r.state_message is not distinct from s.message
         and r.state_result::text is not distinct from s.result::text
         and (s.state <> 'Running' or r.start_time is not distinct from least(r.start_time, s."timestamp"))
         and (s.state not in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') or r.end_time is not distinct from greatest(r.end_time, s."timestamp"))
        ) is not true
      -- a loser changes nothing, but v1 still updated the row (so `updated` moves)
      else r.updated is distinct from now()
    end;

  if cardinality(several_states) = 0 then
    return null;
  end if;
  -- runs with several states in this statement: the states taken one after the other in insertion order, written
  -- once. A state wins when its version is at least the run's and every earlier state's of the statement (an earlier
  -- loser's is below an earlier winner's, so taking it into the maximum changes nothing); the run ends with the last
  -- winner's state, the earliest Running winner's time as start (if earlier) and the latest finished winner's as end
  -- (if later). A run none of its states wins is still updated once (`updated` moves, as in v1).
  with ordered as (
    select s.*, row_number() over () as position from new_states s where s.flow_run_id = any (several_states)
  ),
  judged as (
    select o.*, o.version >= coalesce(greatest(r.version, max(o.version) over (partition by o.flow_run_id order by o.position
      rows between unbounded preceding and 1 preceding)), 0) as wins
    from ordered o join flow_run r on r.id = o.flow_run_id
  ),
  net as (
    select flow_run_id,
      (array_agg(position order by position desc) filter (where wins))[1] as last_winner,
      min("timestamp") filter (where wins and state = 'Running') as first_running,
      max("timestamp") filter (where wins and state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')) as last_finished
    from judged group by flow_run_id
  )
  update flow_run r set
    version = coalesce(w.version, r.version),
    state = case when w.position is null then r.state else w.state end,
    serialized_state = case when w.position is null then r.serialized_state else w.serialized_state end,
    state_start_time = case when w.position is null then r.state_start_time else w.start_time end,
    state_timestamp = case when w.position is null then r.state_timestamp else w."timestamp" end,
    state_message = case when w.position is null then r.state_message else w.message end,
    state_result = case when w.position is null then r.state_result else w.result end,
    start_time = least(r.start_time, n.first_running),
    end_time = greatest(r.end_time, n.last_finished)
  from net n left join ordered w on w.position = n.last_winner
  where r.id = n.flow_run_id;
  return null;
end;
$$;

create or replace function public.update_task_run_details_on_state_insert() returns trigger
language plpgsql
-- the UPDATE below probes the runs by primary key; a hash join would read the whole table for a large statement
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  several_states uuid[];
begin
  several_states := array(select task_run_id from new_states group by task_run_id having count(*) > 1);

  -- runs with one state in this statement; a NULL run version counts as 0, a NULL state version never wins
  update task_run r set
    version = case when s.version >= coalesce(r.version, 0) then s.version else r.version end,
    state = case when s.version >= coalesce(r.version, 0) then s.state else r.state end,
    serialized_state = case when s.version >= coalesce(r.version, 0) then s.serialized_state else r.serialized_state end,
    state_start_time = case when s.version >= coalesce(r.version, 0) then s.start_time else r.state_start_time end,
    state_timestamp = case when s.version >= coalesce(r.version, 0) then s."timestamp" else r.state_timestamp end,
    state_message = case when s.version >= coalesce(r.version, 0) then s.message else r.state_message end,
    state_result = case when s.version >= coalesce(r.version, 0) then s.result else r.state_result end,
    start_time = case when s.version >= coalesce(r.version, 0) and s.state = 'Running' then least(r.start_time, s."timestamp") else r.start_time end,
    end_time = case when s.version >= coalesce(r.version, 0) and s.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') then greatest(r.end_time, s."timestamp") else r.end_time end,
    heartbeat = case when s.version >= coalesce(r.version, 0) and s.state in ('Running', 'Cancelling') then clock_timestamp() else r.heartbeat end
  from new_states s
  where r.id = s.task_run_id and s.task_run_id <> all (several_states)
    and case
      -- a winner: unless the run, written in this transaction, already holds exactly what it would write (a running state always writes)
      when s.version >= coalesce(r.version, 0) then
        (r.updated = now() and r.version = s.version and r.state = s.state
         and s.state not in ('Running', 'Cancelling')
         and r.serialized_state::text = s.serialized_state::text
         and r.state_start_time is not distinct from s.start_time and r.state_timestamp = s."timestamp"
         and r.state_message is not distinct from s.message
         and r.state_result::text is not distinct from s.result::text
         and (s.state <> 'Running' or r.start_time is not distinct from least(r.start_time, s."timestamp"))
         and (s.state not in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') or r.end_time is not distinct from greatest(r.end_time, s."timestamp"))
        ) is not true
      -- a loser changes nothing, but v1 still updated the row (so `updated` moves)
      else r.updated is distinct from now()
    end;

  if cardinality(several_states) = 0 then
    return null;
  end if;
  -- runs with several states in this statement: written once, as for flow runs above; a running winner among them
  -- sets the heartbeat
  with ordered as (
    select s.*, row_number() over () as position from new_states s where s.task_run_id = any (several_states)
  ),
  judged as (
    select o.*, o.version >= coalesce(greatest(r.version, max(o.version) over (partition by o.task_run_id order by o.position
      rows between unbounded preceding and 1 preceding)), 0) as wins
    from ordered o join task_run r on r.id = o.task_run_id
  ),
  net as (
    select task_run_id,
      (array_agg(position order by position desc) filter (where wins))[1] as last_winner,
      min("timestamp") filter (where wins and state = 'Running') as first_running,
      max("timestamp") filter (where wins and state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')) as last_finished,
      bool_or(wins and state in ('Running', 'Cancelling')) as beats
    from judged group by task_run_id
  )
  update task_run r set
    version = coalesce(w.version, r.version),
    state = case when w.position is null then r.state else w.state end,
    serialized_state = case when w.position is null then r.serialized_state else w.serialized_state end,
    state_start_time = case when w.position is null then r.state_start_time else w.start_time end,
    state_timestamp = case when w.position is null then r.state_timestamp else w."timestamp" end,
    state_message = case when w.position is null then r.state_message else w.message end,
    state_result = case when w.position is null then r.state_result else w.result end,
    start_time = least(r.start_time, n.first_running),
    end_time = greatest(r.end_time, n.last_finished),
    heartbeat = case when n.beats then clock_timestamp() else r.heartbeat end
  from net n left join ordered w on w.position = n.last_winner
  where r.id = n.task_run_id;
  return null;
end;
$$;
