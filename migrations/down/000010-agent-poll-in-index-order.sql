-- Undoes 000010: 000009's index back, then the poll's ordered one dropped.
create index ix_flow_run_tenant_id_state_start_time_scheduled on flow_run (tenant_id, state_start_time)
  where state in ('Scheduled', 'Paused', 'Resume', 'Retrying', 'Queued');
drop index ix_flow_run_tenant_id_state_start_time_id_scheduled;
