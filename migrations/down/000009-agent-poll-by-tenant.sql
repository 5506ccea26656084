-- Undoes 000009: drops the poll's index.
drop index ix_flow_run_tenant_id_state_start_time_scheduled;
