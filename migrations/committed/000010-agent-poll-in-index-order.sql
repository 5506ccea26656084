--! Previous: sha1:c990b4d3a0a1ad4d91717aca295170bba840ec1c
--! Hash: sha1:0121675e8d353da8a51915fabce0130f009e1f68
--! Message: agent poll in index order

-- The agent's poll, ordered by its whole sort key (docs/schema.md, "000010"). The poll orders the due runs by start
-- time, then id; 000009's index gives the start time only, so the planner had to sort every due run of the tenant
-- before it could stop at the cap whenever it expected few of them (its estimate for one tenant's due runs is often a
-- handful): with the id in the index, the first entries are the answer, whatever the estimate. Built before the old
-- one is dropped, so the poll always has an index.
drop index if exists ix_flow_run_tenant_id_state_start_time_id_scheduled;
create index ix_flow_run_tenant_id_state_start_time_id_scheduled on flow_run (tenant_id, state_start_time, id)
  where state in ('Scheduled', 'Paused', 'Resume', 'Retrying', 'Queued');
drop index if exists ix_flow_run_tenant_id_state_start_time_scheduled;
