--! Previous: sha1:1fe3f79c055d155665f49145b33125812dd5c7e1
--! Hash: sha1:318d282375dd8dac4b8a9497bdaed80a7da43ece
--! Message: write path triggers

-- The write path's triggers, made cheaper without changing what they leave behind (docs/schema.md, "000004"):
--
-- 1. The state triggers skip an UPDATE that would change nothing: when the run row was already written in this
--    transaction (`updated = now()`) and holds exactly what the trigger would write. A writer can therefore insert a
--    run in its final form (the scheduler's Scheduled flow runs, the Pending task runs below) and its state row
--    without the trigger rewriting the row it just inserted. The comparison is exact (jsonb as text, timestamps,
--    NULLs), so a row the trigger would change is always updated, as in v1.
-- 2. They lock the run FOR NO KEY UPDATE (v1: FOR UPDATE): they never change a key, so a concurrent foreign-key check
--    on the run (a log or state row being inserted for it) no longer waits for them; state writers still queue up.
-- 3. The task-run trigger sets `heartbeat` for a winning Running or Cancelling state (v1's service set it with a
--    second UPDATE of the same row after every running state; only the mutations service writes such states).
-- 4. The task runs of new flow runs are created by ONE statement-level trigger (transition table) instead of one
--    trigger call per flow run, already in their Pending form (version 1), so the state trigger has nothing to do.
-- 5. New runs and states get time-ordered ids (UUID version 7) instead of random ones (version 4): rows inserted
--    together get neighbouring keys, so their primary keys and the indexes on flow_run_id / task_run_id take them
--    in a few pages instead of one random page of a large index each.

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

-- One Pending task run per task of each new flow run's flow, for all the statement's new runs at once.
create or replace function insert_task_runs_after_flow_run_insert() returns trigger
language plpgsql as $$
begin
  with created_task_runs as (
    insert into task_run (tenant_id, flow_run_id, task_id, cache_key, map_index,
                          version, state, serialized_state, state_timestamp, state_message)
    select new_flow_runs.tenant_id, new_flow_runs.id, task.id, task.cache_key, -1,
           1, 'Pending', '{"type": "Pending", "message": "Task run created"}'::jsonb, clock_timestamp(), 'Task run created'
    from new_flow_runs
    join task on task.flow_id = new_flow_runs.flow_id
    returning task_run.id, task_run.tenant_id, task_run.state_timestamp
  )
  insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state, "timestamp")
  select created_task_runs.tenant_id, created_task_runs.id, 'Pending', 'Task run created',
         '{"type": "Pending", "message": "Task run created"}'::jsonb, created_task_runs.state_timestamp
  from created_task_runs;
  return null;
end;
$$;

drop trigger if exists insert_task_runs_after_flow_run_insert on flow_run;
create trigger insert_task_runs_after_flow_run_insert after insert on flow_run
  referencing new table as new_flow_runs
  for each statement execute function insert_task_runs_after_flow_run_insert();

-- A UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then version 7, the variant and 74 random bits
-- of gen_random_uuid()'s version 4 UUID (whose version bits 0100 become 0111). Still a uuid like any other to clients.
create or replace function uuid_v7() returns uuid
language sql volatile parallel safe as $$
  select encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              placing substring(int8send(floor(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
              from 1 for 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

alter table flow_run alter column id set default uuid_v7();
alter table flow_run_state alter column id set default uuid_v7();
alter table task_run alter column id set default uuid_v7();
alter table task_run_state alter column id set default uuid_v7();
