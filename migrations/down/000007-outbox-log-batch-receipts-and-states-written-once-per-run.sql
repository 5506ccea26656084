-- Undoes 000007: the state triggers get 000005's bodies back (word for word), and the outbox and the log batch
-- receipts go with their schema.

drop trigger outbox_cloud_hook_deliveries on public.flow_run_state;
drop function internal.outbox_cloud_hook_deliveries();
drop table internal.log_batch_receipt;
drop table internal.outbox;
drop schema internal;

create or replace function update_flow_run_details_on_state_insert() returns trigger
language plpgsql
-- the UPDATE below probes the runs by primary key; a hash join would read the whole table for a large statement
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  several_states uuid[];
  state_row record;
  run record;
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
  -- runs with several states in this statement: one state after the other, in insertion order
  for state_row in
    select s.* from (select new_states.*, row_number() over () as position from new_states) s
    where s.flow_run_id = any (several_states)
    order by s.position
  loop
    select version, start_time, end_time, updated into run from flow_run where id = state_row.flow_run_id for no key update;
    continue when not found;
    if state_row.version >= coalesce(run.version, 0) then
      update flow_run set
        version = state_row.version,
        state = state_row.state,
        serialized_state = state_row.serialized_state,
        state_start_time = state_row.start_time,
        state_timestamp = state_row."timestamp",
        state_message = state_row.message,
        state_result = state_row.result,
        start_time = case when state_row.state = 'Running' then least(run.start_time, state_row."timestamp") else run.start_time end,
        end_time = case when state_row.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') then greatest(run.end_time, state_row."timestamp") else run.end_time end
      where id = state_row.flow_run_id;
    elsif run.updated is distinct from now() then
      update flow_run set version = version where id = state_row.flow_run_id;
    end if;
  end loop;
  return null;
end;
$$;

create or replace function update_task_run_details_on_state_insert() returns trigger
language plpgsql
-- the UPDATE below probes the runs by primary key; a hash join would read the whole table for a large statement
set enable_hashjoin = off
set enable_mergejoin = off
as $$
declare
  several_states uuid[];
  state_row record;
  run record;
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
  -- runs with several states in this statement: one state after the other, in insertion order
  for state_row in
    select s.* from (select new_states.*, row_number() over () as position from new_states) s
    where s.task_run_id = any (several_states)
    order by s.position
  loop
    select version, start_time, end_time, updated into run from task_run where id = state_row.task_run_id for no key update;
    continue when not found;
    if state_row.version >= coalesce(run.version, 0) then
      update task_run set
        version = state_row.version,
        state = state_row.state,
        serialized_state = state_row.serialized_state,
        state_start_time = state_row.start_time,
        state_timestamp = state_row."timestamp",
        state_message = state_row.message,
        state_result = state_row.result,
        start_time = case when state_row.state = 'Running' then least(run.start_time, state_row."timestamp") else run.start_time end,
        end_time = case when state_row.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled') then greatest(run.end_time, state_row."timestamp") else run.end_time end,
        heartbeat = case when state_row.state in ('Running', 'Cancelling') then clock_timestamp() else heartbeat end
      where id = state_row.task_run_id;
    elsif run.updated is distinct from now() then
      update task_run set version = version where id = state_row.task_run_id;
    end if;
  end loop;
  return null;
end;
$$;
