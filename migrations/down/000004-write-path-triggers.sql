-- Undoes 000004: random ids again, v1's three trigger functions (as 000001 created them) and the row-level run-insert
-- trigger.

alter table task_run_state alter column id set default gen_random_uuid();
alter table task_run alter column id set default gen_random_uuid();
alter table flow_run_state alter column id set default gen_random_uuid();
alter table flow_run alter column id set default gen_random_uuid();
drop function uuid_v7();

create or replace function insert_task_runs_after_flow_run_insert() returns trigger
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

drop trigger insert_task_runs_after_flow_run_insert on flow_run;
create trigger insert_task_runs_after_flow_run_insert after insert on flow_run
  for each row execute function insert_task_runs_after_flow_run_insert();

create or replace function update_flow_run_details_on_state_insert() returns trigger
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

create or replace function update_task_run_details_on_state_insert() returns trigger
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
