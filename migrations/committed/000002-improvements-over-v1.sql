--! Previous: sha1:3cdd9174189581bb34290a345161563db3750389
--! Hash: sha1:bb6b33bef865c1c28d83c361486646683b888b31
--! Message: improvements over v1

-- Deliberate improvements over v1 (docs/schema.md explains each one and the weakness of v1 it addresses).
-- All are indexes: no column, type, default or function changes, so the GraphQL surface stays v1's. The two
-- uniqueness rules are unique *indexes*, not constraints, so the on_conflict constraint lists stay exactly v1's.

-- Versioning races: one flow group per (tenant, version group); concurrent create_flow calls can no longer create two.
create unique index ix_flow_group_tenant_id_name_unique on flow_group (tenant_id, name);

-- Versioning races: one flow per (tenant, version group, version); a racing max(version)+1 now fails instead of
-- duplicating.
create unique index ix_flow_tenant_id_version_group_id_version_unique on flow (tenant_id, version_group_id, version);

-- Queue starvation: agent queue. Due runs are found by state and state_start_time (flow runs, and the task runs of
-- running flows).
create index ix_flow_run_queue on flow_run (state, state_start_time);
create index ix_task_run_queue on task_run (state, state_start_time);

-- Queue starvation: label filters on flow runs (jsonb containment / key existence).
create index ix_flow_run_labels on flow_run using gin (labels);

-- Row-by-row passes and heartbeat scans: towel loops. Lazarus and ZombieKiller look for stale heartbeats among
-- Running/Submitted/Cancelling flow runs, and ZombieKiller for Running task runs; the scheduler pages through active,
-- unarchived flows.
create index ix_flow_run_heartbeat_active on flow_run (heartbeat)
  where state in ('Running', 'Submitted', 'Cancelling');
create index ix_task_run_running on task_run (flow_run_id) where state = 'Running';
create index ix_flow_schedule_active on flow (id) where is_schedule_active and not archived;
