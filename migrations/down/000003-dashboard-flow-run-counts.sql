-- Undoes 000003: drops the dashboard's indexes.
drop index ix_flow_run_by_state_heartbeat;
drop index ix_flow_run_by_state_updated;
