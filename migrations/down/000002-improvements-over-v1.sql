-- Undoes 000002: drops the indexes it added.
drop index ix_flow_schedule_active;
drop index ix_task_run_running;
drop index ix_flow_run_heartbeat_active;
drop index ix_flow_run_labels;
drop index ix_task_run_queue;
drop index ix_flow_run_queue;
drop index ix_flow_tenant_id_version_group_id_version_unique;
drop index ix_flow_group_tenant_id_name_unique;
