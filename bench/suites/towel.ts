// The towel's passes on a database of their own (the loops scan whole tables):
//   - Scheduler over 10,000 active flows (hourly interval clocks, one task each), creating 10 runs per flow =
//     100,000 flow runs (each with its task run and their Scheduled/Pending states, made by the insert triggers);
//   - ZombieKiller over 100,000 flow runs × 10 task runs = 1,000,000 task runs, of which 10,000 are stale (Running,
//     in 1,000 Running flow runs whose heartbeat is an hour old), 10,000 Running with a fresh heartbeat, the rest
//     finished;
//   - Lazarus over the same 100,000 flow runs, 1,000 of them Running with an hour-old heartbeat and no active task
//     run left (candidates), besides the zombies' 1,000 (stale but with running task runs: not candidates).
// Each pass is timed as the towel runs it (the loop functions on a pool of the towel's size), `passRepeats` times,
// the data put back in its armed state (outside the timing) before each repetition, and a checkpoint taken before
// the first timed pass of each loop (see `checkpoint`). v1's limits per pass hold: Lazarus takes 500 runs and
// ZombieKiller 5,000 task runs per pass, so both are also timed until the candidates are gone.
// Then the towel service itself runs (debug mode: every loop every second) over armed data, for its RSS and its
// own pass durations, with the three loops running side by side.
import type pg from "pg";
import { createPool } from "../../services/shared/src/database/pool.ts";
import { runLazarus } from "../../services/domain/src/towel/lazarus.ts";
import { runScheduler } from "../../services/domain/src/towel/scheduler.ts";
import { runZombieKiller } from "../../services/domain/src/towel/zombie_killer.ts";
import { seedOnce, type SeedInfo } from "../lib/database.ts";
import type { RssSampler } from "../lib/rss.ts";
import { startService, stopServices, type ServiceOptions } from "../lib/services.ts";
import type { PassTiming } from "../lib/stats.ts";

interface TowelScale {
  scheduledFlows: number;
  flowRuns: number;
  /** stale Running flow runs, each with TASKS Running task runs */
  zombieRuns: number;
  /** Lazarus candidates */
  lazarusRuns: number;
  /** Running flow runs with a fresh heartbeat, each with TASKS Running task runs */
  freshRuns: number;
}

export const TOWEL_SCALES = {
  full: { scheduledFlows: 10_000, flowRuns: 100_000, zombieRuns: 1_000, lazarusRuns: 1_000, freshRuns: 1_000 },
  quick: { scheduledFlows: 100, flowRuns: 1_000, zombieRuns: 10, lazarusRuns: 10, freshRuns: 10 },
} as const;

const TASKS = 10;
const RUNS_PER_FLOW = 10;
const POOL_SIZE = 4; // the towel's own pool (services/towel/src/index.ts)
const fmt = (n: number) => n.toLocaleString("en-US");

const TENANT = "md5('bench-towel-tenant')::uuid";

function seedSql(scale: TowelScale): string {
  const { zombieRuns: z, lazarusRuns: l, freshRuns: f } = scale;
  const schedule = JSON.stringify({
    type: "Schedule",
    clocks: [{ type: "IntervalClock", interval: 3600 * 1_000_000, start_date: { dt: "2020-01-01T00:00:00", tz: "UTC" } }],
  });
  return `
    set local session_replication_role = replica;
    insert into tenant (id, name, slug) values (${TENANT}, 'bench towel', 'bench-towel');
    insert into project (id, tenant_id, name) values (md5('bench-towel-project')::uuid, ${TENANT}, 'towel');
    -- the scheduled flows
    insert into flow_group (id, tenant_id, name, settings)
    select md5('bench-sched-group-' || i)::uuid, ${TENANT}, 'sched-' || i, '{"heartbeat_enabled": true, "lazarus_enabled": true}'::jsonb
    from generate_series(1, ${scale.scheduledFlows}) i;
    insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id, schedule, is_schedule_active, parameters)
    select md5('bench-sched-flow-' || i)::uuid, ${TENANT}, md5('bench-towel-project')::uuid, md5('bench-sched-group-' || i)::uuid,
           'sched-' || i, 1, 'sched-' || i, '${schedule}'::jsonb, true, '[]'::jsonb
    from generate_series(1, ${scale.scheduledFlows}) i;
    insert into task (tenant_id, flow_id, name, slug)
    select ${TENANT}, md5('bench-sched-flow-' || i)::uuid, 'task', 'task-1' from generate_series(1, ${scale.scheduledFlows}) i;
    -- the runs the other loops look at: 100 flows of ${TASKS} tasks
    insert into flow_group (id, tenant_id, name, settings)
    select md5('bench-runs-group-' || i)::uuid, ${TENANT}, 'runs-' || i, '{"heartbeat_enabled": true, "lazarus_enabled": true}'::jsonb
    from generate_series(1, 100) i;
    insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id)
    select md5('bench-runs-flow-' || i)::uuid, ${TENANT}, md5('bench-towel-project')::uuid, md5('bench-runs-group-' || i)::uuid,
           'runs-' || i, 1, 'runs-' || i
    from generate_series(1, 100) i;
    insert into task (id, tenant_id, flow_id, name, slug, max_retries)
    select md5('bench-runs-task-' || i || '-' || k)::uuid, ${TENANT}, md5('bench-runs-flow-' || i)::uuid, 'task-' || k, 'task-' || k, k % 2
    from generate_series(1, 100) i, generate_series(1, ${TASKS}) k;
    create table bench_towel_run (n int primary key, id uuid not null, kind text not null);
    insert into bench_towel_run
    select n, md5('bench-towel-run-' || n)::uuid,
           case when n <= ${z} then 'zombie' when n <= ${z + l} then 'lazarus' when n <= ${z + l + f} then 'fresh' else 'done' end
    from generate_series(1, ${scale.flowRuns}) n;
    insert into flow_run (id, tenant_id, flow_id, name, version, state, heartbeat, start_time, end_time, serialized_state, state_timestamp, times_resurrected)
    select r.id, ${TENANT}, md5('bench-runs-flow-' || (1 + r.n % 100))::uuid, 'towel-run-' || r.n, 3,
           case when r.kind = 'done' then 'Success' else 'Running' end,
           now() - interval '1 day', now() - interval '1 day', case when r.kind = 'done' then now() - interval '23 hours' end,
           jsonb_build_object('type', case when r.kind = 'done' then 'Success' else 'Running' end), now() - interval '1 day', 0
    from bench_towel_run r;
    insert into task_run (id, tenant_id, flow_run_id, task_id, version, state, heartbeat, serialized_state, state_timestamp)
    select md5('bench-towel-task-run-' || r.n || '-' || k)::uuid, ${TENANT}, r.id, md5('bench-runs-task-' || (1 + r.n % 100) || '-' || k)::uuid, 3,
           case when r.kind in ('zombie', 'fresh') then 'Running' else 'Success' end, now() - interval '1 day',
           jsonb_build_object('type', case when r.kind in ('zombie', 'fresh') then 'Running' else 'Success' end, 'cached_inputs', '{}'::jsonb),
           now() - interval '1 day'
    from bench_towel_run r, generate_series(1, ${TASKS}) k;
    insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state, version)
    select ${TENANT}, tr.id, s.state, s.state, jsonb_build_object('type', s.state), s.version
    from task_run tr, (values ('Pending', 1), ('Running', 2)) s (state, version);
    insert into task_run_state (tenant_id, task_run_id, state, message, serialized_state, version)
    select ${TENANT}, id, 'Success', 'Success', '{"type": "Success"}'::jsonb, 3 from task_run where state = 'Success';`;
}

/** Puts the data back as seeded: candidates armed, what earlier passes wrote deleted. */
async function arm(db: pg.Pool): Promise<void> {
  await db.query(`delete from flow_run where flow_id in (select id from flow where name like 'sched-%' and tenant_id = ${TENANT})`);
  await db.query(`
    with run as (select r.id from bench_towel_run r where r.kind = 'zombie'),
    task_runs as (select tr.id from task_run tr join run on run.id = tr.flow_run_id),
    dropped as (delete from task_run_state s using task_runs t where s.task_run_id = t.id and s.version > 2)
    update task_run set state = 'Running', version = 2, serialized_state = '{"type": "Running", "cached_inputs": {}}'
    where id in (select id from task_runs)`);
  await db.query(`
    with dropped as (delete from flow_run_state s using bench_towel_run r where s.flow_run_id = r.id and r.kind = 'lazarus')
    update flow_run set state = 'Running', version = 3, times_resurrected = 0
    where id in (select id from bench_towel_run where kind = 'lazarus')`);
  // every pass sees the same clock: stale = an hour old, fresh = now
  await db.query(`
    update flow_run f set heartbeat = case when r.kind = 'fresh' then now() else now() - interval '1 hour' end
    from bench_towel_run r where r.id = f.id and r.kind in ('zombie', 'lazarus', 'fresh')`);
  await db.query(`delete from log where tenant_id = ${TENANT}`);
  // The rows deleted above stay behind as dead tuples until a vacuum, and the bench's server may run without
  // autovacuum (CI configurations do): every run would then insert into tables and indexes bloated by all earlier
  // runs (and the scheduler's idempotency keys, the same ones every time, would each meet all their dead copies
  // in the unique index). Vacuum here, outside the timings, so every run measures the same thing.
  await db.query("vacuum analyze flow_run, task_run, flow_run_state, task_run_state, log");
  await checkpoint(db);
}

/**
 * A Scheduler pass writes about 500 MB of WAL and arming it again about 220 MB (the cascading delete, the vacuum),
 * so repeated passes would each meet a checkpoint (max_wal_size) at a different point, flushing dirty pages while
 * the pass runs. The first timed pass of each loop in a repetition (Scheduler, ZombieKiller, Lazarus) starts right
 * after one instead, taken outside the timings, so that all repetitions measure the same thing (the pass's own
 * writes, full-page images included).
 */
async function checkpoint(db: pg.Pool): Promise<void> {
  await db.query("checkpoint");
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = performance.now();
  const result = await work();
  return { seconds: (performance.now() - started) / 1000, result };
}

interface TowelResult {
  seed: SeedInfo;
  description: string;
  passes: PassTiming[];
}

export async function measureTowel(
  towelPool: pg.Pool,
  connectionString: string,
  scale: TowelScale,
  repeats: number,
  serviceOptions: ServiceOptions,
  sampler: RssSampler,
  phase: (name: string) => void,
): Promise<TowelResult> {
  const seed = await seedOnce(towelPool, `towel-${scale.scheduledFlows}-flows-${scale.flowRuns}-runs`, (client) => client.query(seedSql(scale)).then(() => {}));
  const db = createPool(connectionString, POOL_SIZE);
  const zombies = scale.zombieRuns * TASKS;
  const passes: PassTiming[] = [];
  try {
    const scheduler: PassTiming = {
      pass: "Scheduler",
      data: `${fmt(scale.scheduledFlows)} active flows`,
      work: `${fmt(scale.scheduledFlows * RUNS_PER_FLOW)} runs created`,
      seconds: [],
      maxSeconds: 10,
    };
    const zombie: PassTiming = {
      pass: "ZombieKiller",
      data: `${fmt(scale.flowRuns * TASKS)} task runs, ${fmt(zombies)} stale`,
      work: "",
      seconds: [],
      maxSeconds: 2,
    };
    const zombieAll: PassTiming = { pass: "ZombieKiller, passes until none is left", data: zombie.data, work: "", seconds: [] };
    const lazarus: PassTiming = {
      pass: "Lazarus",
      data: `${fmt(scale.flowRuns)} flow runs, ${fmt(scale.lazarusRuns)} candidates`,
      work: "",
      seconds: [],
      maxSeconds: 2,
    };
    const lazarusAll: PassTiming = { pass: "Lazarus, passes until none is left", data: lazarus.data, work: "", seconds: [] };
    for (let repeat = 0; repeat < repeats; repeat++) {
      phase(`towel passes (${repeat + 1} of ${repeats})`);
      await arm(db); // ends with a checkpoint
      const scheduled = await timed(() => runScheduler(db, { maxRunsPerFlow: RUNS_PER_FLOW }));
      if (scheduled.result.runsCreated !== scale.scheduledFlows * RUNS_PER_FLOW) {
        throw new Error(`the Scheduler created ${scheduled.result.runsCreated} runs, expected ${scale.scheduledFlows * RUNS_PER_FLOW}`);
      }
      scheduler.seconds.push(scheduled.seconds);

      await checkpoint(db);
      let total = 0;
      let killed = 0;
      for (let pass = 0; killed < zombies && pass < 100; pass++) {
        const { seconds, result } = await timed(() => runZombieKiller(db));
        const changed = result.taskRunsFailed + result.taskRunsRetried;
        if (pass === 0) {
          zombie.seconds.push(seconds);
          zombie.work = `${fmt(changed)} task runs failed or retried`;
        }
        if (changed === 0) break;
        killed += changed;
        total += seconds;
      }
      if (killed !== zombies) throw new Error(`ZombieKiller handled ${killed} task runs, expected ${zombies}`);
      zombieAll.seconds.push(total);
      zombieAll.work = `${fmt(killed)} task runs`;

      await checkpoint(db);
      total = 0;
      let resurrected = 0;
      for (let pass = 0; resurrected < scale.lazarusRuns && pass < 100; pass++) {
        const { seconds, result } = await timed(() => runLazarus(db, { resurrectionAttemptLimit: 3 }));
        const changed = result.rescheduled + result.failed;
        if (pass === 0) {
          lazarus.seconds.push(seconds);
          lazarus.work = `${fmt(changed)} runs rescheduled`;
        }
        if (changed === 0) break;
        resurrected += changed;
        total += seconds;
      }
      if (resurrected !== scale.lazarusRuns) throw new Error(`Lazarus handled ${resurrected} runs, expected ${scale.lazarusRuns}`);
      lazarusAll.seconds.push(total);
      lazarusAll.work = `${fmt(resurrected)} runs`;
    }
    passes.push(scheduler, zombie, zombieAll, lazarus, lazarusAll);

    // the towel service itself, every loop every second, over armed data
    phase("towel service (debug mode: every loop every second)");
    await arm(db);
    passes.push(...(await runTowelService(serviceOptions, sampler)));
  } finally {
    await db.end();
  }
  return {
    seed,
    passes,
    description:
      `${fmt(scale.scheduledFlows)} scheduled flows; ${fmt(scale.flowRuns)} flow runs with ${fmt(scale.flowRuns * TASKS)} task runs ` +
      `(${fmt(zombies)} zombie task runs, ${fmt(scale.lazarusRuns)} Lazarus candidates)`,
  };
}

const LOOPS = { "prefect-server.Scheduler": "Scheduler", "prefect-server.ZombieKiller": "ZombieKiller", "prefect-server.Lazarus": "Lazarus" } as const;

/** Starts the towel service, waits for the first pass of each loop (2 minutes at most), stops it. */
async function runTowelService(options: ServiceOptions, sampler: RssSampler): Promise<PassTiming[]> {
  const towel = await startService("towel", options, { PREFECT__LOOP_SERVICE__DEBUG_MODE: "1" });
  sampler.watch("towel", towel.process.pid);
  const first = new Map<string, { ms: number; line: Record<string, unknown> }>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the towel service ran ${[...first.keys()].join(", ") || "no pass"} in 120 s`)), 120_000);
      const stop = towel.process.onOutput((line) => {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        const loop = LOOPS[entry.name as keyof typeof LOOPS];
        if (!loop || typeof entry.duration_ms !== "number" || first.has(loop)) return;
        first.set(loop, { ms: entry.duration_ms, line: entry });
        if (first.size === Object.keys(LOOPS).length) {
          clearTimeout(timer);
          stop();
          resolve();
        }
      });
    });
  } finally {
    sampler.unwatch("towel");
    await stopServices([towel]);
  }
  return [...first].map(([loop, { ms, line }]) => ({
    pass: `${loop}, first pass of the towel service`,
    data: "the same, armed",
    work: String(line.msg ?? ""),
    seconds: [ms / 1000],
  }));
}
