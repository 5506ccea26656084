--! Previous: sha1:50b0a32d29018c2cfd812aca73832fc5b4a98e82
--! Hash: sha1:f5ac5bf974f2ed234839c87701dd01b4c4f30848
--! Message: v1 names for earlier databases

-- 000001 was corrected to be v1's schema in two more places: seven foreign keys carry the `fk_…` names v1's alembic
-- revisions gave them, and the traversal functions stop at a NULL depth_limit as v1's did (start tasks only). A
-- database made by 000001 before the correction gets both here; for one made by 000001 as it stands, or taken over
-- from v1, this changes nothing. That is also why the down script changes nothing: the names and functions are
-- those 000001 gives (docs/schema.md, "000006").

do $$
declare
  key record;
begin
  for key in
    select * from (values
      ('edge', 'edge_downstream_task_id_fkey', 'fk_edge_downstream_task_id'),
      ('edge', 'edge_flow_id_fkey', 'fk_edge_flow_id'),
      ('edge', 'edge_upstream_task_id_fkey', 'fk_edge_upstream_task_id'),
      ('flow_run', 'flow_run_flow_id_fkey', 'fk_flow_run_flow_id'),
      ('task', 'task_flow_id_fkey', 'fk_task_flow_id'),
      ('task_run', 'task_run_flow_run_id_fkey', 'fk_task_run_flow_run_id'),
      ('task_run', 'task_run_task_id_fkey', 'fk_task_run_task_id')
    ) as names (table_name, old_name, new_name)
  loop
    if exists (select 1 from pg_constraint where conrelid = key.table_name::regclass and conname = key.old_name) then
      execute format('alter table %I rename constraint %I to %I', key.table_name, key.old_name, key.new_name);
    end if;
  end loop;
end;
$$;

create or replace function utility.downstream_tasks(start_task_ids uuid[], depth_limit integer default 50)
returns setof utility.traversal
language sql stable as $$
  with recursive walk (task_id, tenant_id, depth) as (
    select task.id, task.tenant_id, 0
    from public.task
    where task.id = any(start_task_ids)
    union
    select edge.downstream_task_id, edge.tenant_id, walk.depth + 1
    from walk
    join public.edge on edge.upstream_task_id = walk.task_id
    where walk.depth < depth_limit and walk.depth < 50
  )
  select walk.tenant_id, walk.task_id, max(walk.depth)::integer as depth
  from walk
  group by walk.task_id, walk.tenant_id
  order by depth, walk.task_id, walk.tenant_id
$$;

create or replace function utility.upstream_tasks(start_task_ids uuid[], depth_limit integer default 50)
returns setof utility.traversal
language sql stable as $$
  with recursive walk (task_id, tenant_id, depth) as (
    select task.id, task.tenant_id, 0
    from public.task
    where task.id = any(start_task_ids)
    union
    select edge.upstream_task_id, edge.tenant_id, walk.depth + 1
    from walk
    join public.edge on edge.downstream_task_id = walk.task_id
    where walk.depth < depth_limit and walk.depth < 50
  )
  select walk.tenant_id, walk.task_id, max(walk.depth)::integer as depth
  from walk
  group by walk.task_id, walk.tenant_id
  order by depth, walk.task_id, walk.tenant_id
$$;
