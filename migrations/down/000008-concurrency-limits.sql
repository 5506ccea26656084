-- Undoes 000008: the concurrency limits, the flow-run claims of the agent poll, and their usage functions.

drop function internal.flow_concurrency_limit_usage(uuid[], boolean, integer);
drop function internal.task_tag_limit_usage(uuid[]);
drop table internal.flow_run_claim;
drop table flow_concurrency_limit;
drop view task_concurrency_limit;
drop table task_tag_limit;
