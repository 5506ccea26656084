--! Previous: sha1:1d34b2357c69d12dc35cbc27907241e486f542e1
--! Hash: sha1:c990b4d3a0a1ad4d91717aca295170bba840ec1c
--! Message: agent poll by tenant

-- The agent's poll of one tenant (get_runs_in_queue; docs/schema.md, "000009"): the tenant's runs in a scheduled
-- state, oldest start first, up to now. 000002's queue index (state, state_start_time) has no tenant, so the planner
-- combined it with the tenant index and read every run of the tenant: the poll grew with the tenant's history and with
-- other tenants' due runs. This one is ordered like the poll, within the tenant and the scheduled states (the poll
-- names the same list of states, so the planner can use it): the poll reads its first due entries and stops (figures
-- in docs/benchmarks.md).
drop index if exists ix_flow_run_tenant_id_state_start_time_scheduled;
create index ix_flow_run_tenant_id_state_start_time_scheduled on flow_run (tenant_id, state_start_time)
  where state in ('Scheduled', 'Paused', 'Resume', 'Retrying', 'Queued');
