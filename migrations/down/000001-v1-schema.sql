-- Undoes 000001: drops every object it created. The extensions pgcrypto and pg_trgm stay (see docs/schema.md):
-- they are database-wide, may serve other objects, and re-running 000001 only needs `create extension if not exists`.

drop function utility.upstream_tasks(uuid[], integer);
drop function utility.downstream_tasks(uuid[], integer);
drop table utility.traversal;
drop schema utility;

-- Dropping a table drops its triggers; children before parents so no cascade is needed.
drop table task_run_artifact;
drop table message;
drop table cloud_hook;
drop table log;
drop table task_run_state;
drop table task_run;
drop table flow_run_state;
drop table flow_run;
drop table agent;
drop table agent_config;
drop table edge;
drop table task;
drop table flow;
drop table flow_group;
drop table project;
drop table tenant;

drop function update_task_run_details_on_state_insert();
drop function update_flow_run_details_on_state_insert();
drop function insert_task_runs_after_flow_run_insert();
drop function set_updated_timestamp();
