-- Undoes 000005: 000004's row-level state triggers and their functions, as 000004 created them.

create or replace function update_flow_run_details_on_state_insert() returns trigger
language plpgsql as $$
declare
  run record;
  new_start_time timestamptz;
  new_end_time timestamptz;
begin
  select version, state, serialized_state, state_start_time, state_timestamp, state_message, state_result,
         start_time, end_time, updated
    into run
  from flow_run
  where id = new.flow_run_id
  for no key update;
  if not found then
    return null;
  end if;

  -- NULL run version counts as 0; a NULL state version never wins
  if new.version >= coalesce(run.version, 0) then
    new_start_time := case when new.state = 'Running' then least(run.start_time, new."timestamp") else run.start_time end;
    new_end_time := case
      when new.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')
        then greatest(run.end_time, new."timestamp")
      else run.end_time
    end;
    -- already written in this transaction exactly as below: nothing to do
    if run.updated = now() and run.version = new.version and run.state = new.state
       and run.serialized_state::text = new.serialized_state::text
       and run.state_start_time is not distinct from new.start_time and run.state_timestamp = new."timestamp"
       and run.state_message is not distinct from new.message
       and run.state_result::text is not distinct from new.result::text
       and run.start_time is not distinct from new_start_time and run.end_time is not distinct from new_end_time then
      return null;
    end if;
    update flow_run set
      version = new.version,
      state = new.state,
      serialized_state = new.serialized_state,
      state_start_time = new.start_time,
      state_timestamp = new."timestamp",
      state_message = new.message,
      state_result = new.result,
      start_time = new_start_time,
      end_time = new_end_time
    where id = new.flow_run_id;
  elsif run.updated is distinct from now() then
    -- a losing state changes nothing, but v1 still updated the row (so `updated` moves)
    update flow_run set version = version where id = new.flow_run_id;
  end if;
  return null;
end;
$$;

create or replace function update_task_run_details_on_state_insert() returns trigger
language plpgsql as $$
declare
  run record;
  new_start_time timestamptz;
  new_end_time timestamptz;
begin
  select version, state, serialized_state, state_start_time, state_timestamp, state_message, state_result,
         start_time, end_time, updated
    into run
  from task_run
  where id = new.task_run_id
  for no key update;
  if not found then
    return null;
  end if;

  -- NULL run version counts as 0; a NULL state version never wins
  if new.version >= coalesce(run.version, 0) then
    new_start_time := case when new.state = 'Running' then least(run.start_time, new."timestamp") else run.start_time end;
    new_end_time := case
      when new.state in ('Success', 'Failed', 'Cached', 'TimedOut', 'Looped', 'Cancelled')
        then greatest(run.end_time, new."timestamp")
      else run.end_time
    end;
    -- already written in this transaction exactly as below: nothing to do (a running state always writes)
    if run.updated = now() and run.version = new.version and run.state = new.state
       and new.state not in ('Running', 'Cancelling')
       and run.serialized_state::text = new.serialized_state::text
       and run.state_start_time is not distinct from new.start_time and run.state_timestamp = new."timestamp"
       and run.state_message is not distinct from new.message
       and run.state_result::text is not distinct from new.result::text
       and run.start_time is not distinct from new_start_time and run.end_time is not distinct from new_end_time then
      return null;
    end if;
    update task_run set
      version = new.version,
      state = new.state,
      serialized_state = new.serialized_state,
      state_start_time = new.start_time,
      state_timestamp = new."timestamp",
      state_message = new.message,
      state_result = new.result,
      start_time = new_start_time,
      end_time = new_end_time,
      heartbeat = case when new.state in ('Running', 'Cancelling') then clock_timestamp() else heartbeat end
    where id = new.task_run_id;
  elsif run.updated is distinct from now() then
    -- a losing state changes nothing, but v1 still updated the row (so `updated` moves)
    update task_run set version = version where id = new.task_run_id;
  end if;
  return null;
end;
$$;

drop trigger update_flow_run_details_on_state_insert on flow_run_state;
create trigger update_flow_run_details_on_state_insert after insert on flow_run_state
  for each row execute function update_flow_run_details_on_state_insert();

drop trigger update_task_run_details_on_state_insert on task_run_state;
create trigger update_task_run_details_on_state_insert after insert on task_run_state
  for each row execute function update_task_run_details_on_state_insert();
