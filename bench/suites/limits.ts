// What the concurrency-limit check costs set_task_run_states (issue 20: within 10 % of the unlimited figure), at 32
// clients straight to the mutations service, on the state-write targets. Every request starts its task runs: each
// run gets [Running, Success] (Core's start and end of a task run), so the Running item meets a run that is not
// running and is checked against its task's tags every time. Sizes: 1 run (2 states) and 25 runs (50 states).
//   no limits                  the tenant has none: the check is one probe of an empty table
//   one limited tag            every task carries the tag "bench-limited-0", limit 1,000,000 (never reached): every
//                              start takes that limit's locks (shared: far from the limit) and counts the running
//                              task runs of the tag
//   100 limited tags           the tasks carry one of 100 limited tags each (task i: tag i mod 100)
// The three are measured in interleaved rounds; each limited row is the share of its median of the no-limits median.
// The rounds' throughput varies by more than the check costs on a shared VM (its disk's fsync above all), so each
// round also counts the CPU a request takes in the mutations service and the Postgres server, and the note gives the
// limited configurations' extra CPU per request from the medians of those.
import type pg from "pg";
import { cpuSeconds, postgresCpuSeconds } from "../lib/cpu.ts";
import { measureHttp, type LoadPlan } from "../lib/measure.ts";
import { coreBody, RUNNING_STATE, SET_TASK_RUN_STATES } from "../lib/requests.ts";
import type { Measurement } from "../lib/stats.ts";
import type { WrkRequest } from "../lib/wrk.ts";

const CLIENTS = 32;
const BODIES = 1_000;
const HEADERS = { "X-PREFECT-CORE-VERSION": "1.4.1" };
const SUCCESS_STATE = { ...RUNNING_STATE, type: "Success", message: "Task run succeeded" } as const;
const NEVER_REACHED = 1_000_000;
/** Rounds of the three configurations, interleaved: throughput drifts during a run (the state tables grow, caches
 * warm), and the median of interleaved rounds compares them on equal terms. */
const ROUNDS = 5;
const NO_LIMITS = "no limits";
const ONE_TAG = "one limited tag on every task";
const HUNDRED_TAGS = "100 limited tags, one per task";

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const workload = (runs: number, what: string) => `${runs * 2} states (${runs} task run${runs > 1 ? "s" : ""} started and finished), ${what}`;

function bodies(taskRunIds: string[], runs: number): WrkRequest[] {
  return Array.from({ length: BODIES }, () => {
    const start = Math.floor(Math.random() * (taskRunIds.length - runs + 1));
    const states = taskRunIds.slice(start, start + runs).flatMap((id) => [
      { task_run_id: id, version: null, state: RUNNING_STATE },
      { task_run_id: id, version: null, state: SUCCESS_STATE },
    ]);
    return { body: coreBody(SET_TASK_RUN_STATES, { input: { states } }), headers: HEADERS };
  });
}

export async function measureLimits(
  pool: pg.Pool,
  mutationsUrl: string,
  mutationsPid: number,
  taskRunIds: string[],
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<{ measurements: Measurement[]; notes: string[] }> {
  const one = { ...plan, clients: [CLIENTS] };
  const measurements: Measurement[] = [];
  const { rows: tasks } = await pool.query<{ id: string; tenant_id: string; tags: unknown }>(
    "select t.id::text, t.tenant_id::text, t.tags from task t where t.id in (select task_id from task_run where id = any($1)) order by t.id",
    [taskRunIds],
  );
  const tenantId = tasks[0]!.tenant_id;
  const setTags = (tagOf: (index: number) => string) =>
    pool.query("update task t set tags = jsonb_build_array(x.tag) from unnest($1::uuid[], $2::text[]) as x(id, tag) where t.id = x.id", [
      tasks.map((task) => task.id),
      tasks.map((_, index) => tagOf(index)),
    ]);
  const setLimits = async (count: number) => {
    await pool.query("delete from task_tag_limit where tenant_id = $1", [tenantId]);
    if (count === 0) return;
    await pool.query(`insert into task_tag_limit (tenant_id, tag, "limit") select $1, 'bench-limited-' || i, $2 from generate_series(0, $3 - 1) i`, [
      tenantId,
      NEVER_REACHED,
      count,
    ]);
  };
  const notes: string[] = [];
  const configurations: { what: string; prepare: () => Promise<void> }[] = [
    { what: NO_LIMITS, prepare: () => setLimits(0) },
    {
      what: ONE_TAG,
      prepare: async () => {
        await setTags(() => "bench-limited-0");
        await setLimits(1);
      },
    },
    {
      what: HUNDRED_TAGS,
      prepare: async () => {
        await setTags((index) => `bench-limited-${index % 100}`);
        await setLimits(100);
      },
    },
  ];
  try {
    for (const runs of [1, 25]) {
      const requests = bodies(taskRunIds, runs);
      const rounds = new Map<string, Measurement[]>(configurations.map(({ what }) => [what, []]));
      /** CPU seconds per request of each round (the mutations service and the Postgres server), by configuration. */
      const cpuPerRequest = new Map<string, number[]>(configurations.map(({ what }) => [what, []]));
      const cpu = () => (cpuSeconds(mutationsPid) ?? Number.NaN) + postgresCpuSeconds();
      const rates = (what: string) => rounds.get(what)!.map((m) => m.throughput);
      for (let round = 1; round <= ROUNDS; round += 1) {
        for (const { what, prepare } of configurations) {
          await prepare();
          // Every round turns task runs Running and back many thousand times, and the limit check reads the running
          // ones through the state index; every configuration deletes and inserts the limits. Without a vacuum (the
          // bench's server may run without autovacuum, as CI configurations do) each round would read the dead rows
          // of all the rounds before it
          await pool.query("vacuum analyze task_run, task_tag_limit");
          phase(`${workload(runs, what)}, round ${round} of ${ROUNDS}`);
          const cpuBefore = cpu();
          const [measured] = await measureHttp(mutationsUrl, requests, one, { group: "writes", workload: workload(runs, what), label: what, items: runs * 2 });
          // the warm-up's requests are not counted by the measurement: taken at the measured rate
          cpuPerRequest.get(what)!.push((cpu() - cpuBefore) / (measured!.throughput * (one.seconds + one.warmupSeconds)));
          rounds.get(what)!.push(measured!);
        }
      }
      // the table shows each configuration once: its median round
      for (const { what } of configurations) {
        const median = [...rounds.get(what)!].sort((a, b) => a.throughput - b.throughput)[Math.floor(ROUNDS / 2)]!;
        measurements.push({ ...median, ceiling: what === NO_LIMITS ? undefined : workload(runs, NO_LIMITS) });
      }
      const share = (what: string) => `${((medianOf(rates(what)) / medianOf(rates(NO_LIMITS))) * 100).toFixed(1)} %`;
      const microseconds = (what: string) => medianOf(cpuPerRequest.get(what)!) * 1e6;
      const extraCpu = (what: string) => `${((microseconds(what) / microseconds(NO_LIMITS) - 1) * 100).toFixed(1)} %`;
      const list = (what: string) => rates(what).map((rate) => Math.round(rate).toLocaleString("en-US")).join(", ");
      notes.push(
        `limits, ${runs * 2} states per request at ${CLIENTS} clients (requests/s of ${ROUNDS} interleaved rounds; the table shows the medians): ` +
          `no limits ${list(NO_LIMITS)}; one limited tag ${list(ONE_TAG)} (${share(ONE_TAG)}); 100 limited tags ${list(HUNDRED_TAGS)} (${share(HUNDRED_TAGS)}); ` +
          `CPU per request (mutations service and Postgres, medians): no limits ${microseconds(NO_LIMITS).toFixed(0)} µs, ` +
          `one limited tag ${microseconds(ONE_TAG).toFixed(0)} µs (${extraCpu(ONE_TAG)}), 100 limited tags ${microseconds(HUNDRED_TAGS).toFixed(0)} µs (${extraCpu(HUNDRED_TAGS)})`,
      );
    }
  } finally {
    await pool.query("delete from task_tag_limit where tenant_id = $1", [tenantId]);
    await pool.query("update task t set tags = x.tags from jsonb_to_recordset($1::jsonb) as x(id uuid, tags jsonb) where t.id = x.id", [JSON.stringify(tasks)]);
  }
  return { measurements, notes };
}
