--! Previous: sha1:0121675e8d353da8a51915fabce0130f009e1f68
--! Hash: sha1:aa02a341fc83ff56d65623d493a2e933885334c5
--! Message: concurrency limits admit through striped advisory locks

-- Concurrency limits admit their starts through advisory locks instead of a lock on the limit's row (docs/schema.md,
-- "000011"; docs/concurrency.md, "How exact"). 000008 locked a limit's row from the check until the writer committed:
-- every start of a tag waited for the one before it to commit, also when the limit was far from reached. Now a limit
-- has a gate and 16 stripes. A writer whose starts fit a limit's shared share (below) holds the gate shared and one
-- stripe, so up to 16 writers start runs of one limit at once; any other writer (near the limit, a small limit, an
-- agent's poll, a change of the limit) holds the gate alone. Exact because a writer in the shared mode admits at
-- most a 32nd of the limit while at most half of it is used: the at most 16 writers in flight beside it, each
-- holding a stripe, cannot together take more than the other half.

drop trigger if exists concurrency_limit_change on public.task_tag_limit;
drop trigger if exists concurrency_limit_change on public.flow_concurrency_limit;
drop function if exists internal.concurrency_limit_change();
drop function if exists internal.concurrency_limit_usage(text, uuid[], boolean, integer);
drop function if exists internal.concurrency_limit_shared(bigint, bigint, integer);
drop function if exists internal.concurrency_limit_stripes();
drop function if exists internal.concurrency_limit_key(uuid);

-- The advisory-lock key of a limit (the first of the two-integer keys; the second is 0 for its gate, 1–16 for its
-- stripes). Two limits may share a key: they then share their gate and stripes, which only makes them wait for each
-- other more than needed.
create function internal.concurrency_limit_key(limit_id uuid) returns integer
language sql immutable parallel safe
as $$ select hashtext(limit_id::text) $$;

-- How many stripes a limit has: how many writers may take slots of it at once in the shared mode.
create function internal.concurrency_limit_stripes() returns integer
language sql immutable parallel safe
as $$ select 16 $$;

-- Whether a writer may take `wanted` slots of a limit in the shared mode while `used` are held: at most the limit's
-- share per stripe of its half (a 32nd of it with 16 stripes) at once, and only while at most half of it is held, so
-- that the writers on the other stripes, each with at most that share, fit in the other half.
create function internal.concurrency_limit_shared(wanted bigint, used bigint, "limit" integer) returns boolean
language sql immutable parallel safe
as $$
  select wanted <= "limit" / (2 * internal.concurrency_limit_stripes())
    and used + internal.concurrency_limit_stripes() * ("limit" / (2 * internal.concurrency_limit_stripes())) <= "limit"
$$;

-- The usage of concurrency limits for a writer about to start runs. `kind`: 'task-tag' (task_tag_limit: the task runs
-- of the tenant whose task has the tag, in a running state) or 'flow-label' (flow_concurrency_limit: the flow runs of
-- the tenant with the label, in a running state; with `with_submitted`, the agent poll's count, also those submitted
-- or handed out by a poll in the last `claim_seconds`). `starts`: a limit's id once per slot the writer asks for (the
-- poll lists each once and takes the gate alone: it hands out as many runs as there are free slots).
--
-- Takes the limits' locks until the transaction ends, in key order (gate before stripe), so writers never wait for
-- each other in a cycle: the gate alone, or the gate shared and a free stripe (tried from a random one on; when all 16
-- are held, waiting for that one). Then counts in a snapshot of its own, taken after them (volatile plpgsql: each
-- statement in it takes its own in READ COMMITTED), so it sees every start of a writer that held them before. A
-- limit taken shared whose count turns out too high for it is taken again alone: the block's subtransaction is rolled
-- back (releasing every lock it took, so the order holds) and the locks are taken again. Each kind has statements of
-- its own (plans that hold for every call), which count the running runs of the limits' tenants once for all the
-- limits, by tag or label; the statements are few, as the state statements call this for every batch that starts
-- runs of a limited tag.
create function internal.concurrency_limit_usage(kind text, starts uuid[], with_submitted boolean, claim_seconds integer)
returns table (id uuid, name varchar, "limit" integer, used bigint)
language plpgsql volatile
as $$
declare
  -- the keys of the limits, distinct and in order, and whether each is taken alone
  keys integer[];
  alone boolean[];
  retry integer[];
  stripes constant integer := internal.concurrency_limit_stripes();
  first integer;
  taken boolean;
  ids uuid[];
  names varchar[];
  limits integer[];
  useds bigint[];
begin
  -- alone from the start: a limit whose wanted slots do not fit its shared share even when none are held (a small
  -- limit, a big batch), and every limit of a poll
  if kind = 'task-tag' then
    select array_agg(k.key order by k.key), array_agg(k.alone order by k.key) into keys, alone
    from (
      select internal.concurrency_limit_key(l.id) as key, bool_or(with_submitted or not internal.concurrency_limit_shared(w.n, 0, l."limit")) as alone
      from (select s.limit_id, count(*) as n from unnest(starts) s(limit_id) group by s.limit_id) w
      join public.task_tag_limit l on l.id = w.limit_id
      group by 1
    ) k;
  else
    select array_agg(k.key order by k.key), array_agg(k.alone order by k.key) into keys, alone
    from (
      select internal.concurrency_limit_key(l.id) as key, bool_or(with_submitted or not internal.concurrency_limit_shared(w.n, 0, l."limit")) as alone
      from (select s.limit_id, count(*) as n from unnest(starts) s(limit_id) group by s.limit_id) w
      join public.flow_concurrency_limit l on l.id = w.limit_id
      group by 1
    ) k;
  end if;
  if keys is null then
    return;
  end if;
  loop
    begin
      for i in 1..cardinality(keys) loop
        if alone[i] then
          perform pg_advisory_xact_lock(keys[i], 0);
        else
          perform pg_advisory_xact_lock_shared(keys[i], 0);
          first := floor(random() * stripes)::integer;
          taken := false;
          for j in 0..stripes - 1 loop
            taken := pg_try_advisory_xact_lock(keys[i], 1 + (first + j) % stripes);
            exit when taken;
          end loop;
          if not taken then
            perform pg_advisory_xact_lock(keys[i], 1 + first);
          end if;
        end if;
      end loop;
      if kind = 'task-tag' then
        select array_agg(l.id), array_agg(l.tag), array_agg(l."limit"), array_agg(coalesce(c.used, 0)),
          array_agg(k.key) filter (where not alone[array_position(keys, k.key)]
            and not internal.concurrency_limit_shared(w.n, coalesce(c.used, 0), l."limit"))
        into ids, names, limits, useds, retry
        from (select s.limit_id, count(*) as n from unnest(starts) s(limit_id) group by s.limit_id) w
        join public.task_tag_limit l on l.id = w.limit_id
        cross join lateral (select internal.concurrency_limit_key(l.id) as key) k
        left join (
          select tr.tenant_id, tag.name, count(*) as used
          from public.task_run tr join public.task t on t.id = tr.task_id
          cross join lateral (select distinct jsonb_array_elements_text(
            case when jsonb_typeof(t.tags) = 'array' then t.tags else '[]'::jsonb end) as name) tag
          where tr.state in ('Running', 'Cancelling')
            and tr.tenant_id in (select l2.tenant_id from public.task_tag_limit l2 where l2.id = any(starts))
          group by tr.tenant_id, tag.name
        ) c on c.tenant_id = l.tenant_id and c.name = l.tag;
      else
        select array_agg(l.id), array_agg(l.name), array_agg(l."limit"), array_agg(coalesce(c.used, 0)),
          array_agg(k.key) filter (where not alone[array_position(keys, k.key)]
            and not internal.concurrency_limit_shared(w.n, coalesce(c.used, 0), l."limit"))
        into ids, names, limits, useds, retry
        from (select s.limit_id, count(*) as n from unnest(starts) s(limit_id) group by s.limit_id) w
        join public.flow_concurrency_limit l on l.id = w.limit_id
        cross join lateral (select internal.concurrency_limit_key(l.id) as key) k
        left join (
          select fr.tenant_id, label.name, count(*) as used
          from (
            select r.tenant_id, r.labels from public.flow_run r
            where r.state in ('Running', 'Cancelling', 'Submitted') and (with_submitted or r.state <> 'Submitted')
              and r.tenant_id in (select l2.tenant_id from public.flow_concurrency_limit l2 where l2.id = any(starts))
            union all
            -- claims are few (they expire within seconds): read them first, not the tenants' scheduled runs
            select r.tenant_id, r.labels from internal.flow_run_claim c join public.flow_run r on r.id = c.flow_run_id
            where with_submitted and c.claimed > now() - make_interval(secs => claim_seconds)
              and r.state in ('Scheduled', 'Paused', 'Resume', 'Retrying', 'Queued')
          ) fr
          cross join lateral (select distinct jsonb_array_elements_text(
            case when jsonb_typeof(fr.labels) = 'array' then fr.labels else '[]'::jsonb end) as name) label
          group by fr.tenant_id, label.name
        ) c on c.tenant_id = l.tenant_id and c.name = l.name;
      end if;
      if retry is not null then
        raise sqlstate 'PXC01';
      end if;
      exit;
    exception when sqlstate 'PXC01' then
      for i in 1..cardinality(keys) loop
        alone[i] := alone[i] or keys[i] = any(retry);
      end loop;
    end;
  end loop;
  return query select * from unnest(ids, names, limits, useds);
end;
$$;

-- A change of a limit (its value, tag or label, tenant) waits for every writer holding it and holds its gate alone
-- until it commits: so the writers in the shared mode at one time all judged by the same limit.
create function internal.concurrency_limit_change() returns trigger
language plpgsql
as $$
begin
  perform pg_advisory_xact_lock(internal.concurrency_limit_key(old.id), 0);
  return new;
end;
$$;
create trigger concurrency_limit_change before update on public.task_tag_limit
  for each row execute function internal.concurrency_limit_change();
create trigger concurrency_limit_change before update on public.flow_concurrency_limit
  for each row execute function internal.concurrency_limit_change();

-- 000008's functions, replaced by the one above
drop function if exists internal.task_tag_limit_usage(uuid[]);
drop function if exists internal.flow_concurrency_limit_usage(uuid[], boolean, integer);
