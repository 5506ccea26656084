/* eslint-disable @typescript-eslint/no-explicit-any -- rows and GraphQL results are read field by field; their shape is what the tests assert */
// Scheduler pass (docs/v1-compatibility.md, The towel) through the real Core 1.x clocks of the shared schedules module
// and the mutations service's set-based run creation: acceptance checks 36–39 and 49, on a real database. The flows'
// schedules are stored as the API stores them (create_flow / set_flow_group_schedule), then the towel's pass creates
// the runs.
import { beforeEach, describe, expect, test } from "vitest";
import { runScheduler, type SchedulerOptions } from "../../services/domain/src/towel/scheduler.ts";
import { fromDate } from "../../services/domain/src/schedules/index.ts";
import { insertFlow } from "../database/fixtures.ts";
import { createFlow, createProject, createTenant, setupFlow, unique, useMutations } from "../mutations/helpers.ts";
import { captureLogs } from "./harness.ts";

const h = useMutations();
const options: SchedulerOptions = { maxRunsPerFlow: 10 };

const interval = (seconds: number, extra: Record<string, unknown> = {}) => ({ type: "IntervalClock", interval: seconds * 1_000_000, ...extra });
const cron = (expression: string, extra: Record<string, unknown> = {}) => ({ type: "CronClock", cron: expression, ...extra });
const scheduleOf = (...clocks: Record<string, unknown>[]) => ({ type: "Schedule", clocks });
const utc = (date: Date, micros = "") => ({ dt: date.toISOString().slice(0, 23) + micros, tz: "UTC" });

const SET_GROUP_SCHEDULE = `mutation($input: set_flow_group_schedule_input!) { set_flow_group_schedule(input: $input) { success error } }`;
const SET_ACTIVE = `mutation($input: set_schedule_active_input!) { set_schedule_active(input: $input) { success error } }`;

beforeEach(async () => {
  await h.db.query("delete from tenant");
});

/** A flow (straight into the tables) with a schedule, active unless told otherwise. */
async function activeFlow(schedule: unknown, columns: Record<string, unknown> = {}, group: Record<string, unknown> = {}): Promise<string> {
  const { flowId } = await insertFlow(h.db, { tasks: [{}, {}] });
  for (const [column, value] of Object.entries({ schedule, is_schedule_active: true, ...columns })) {
    await h.db.query(`update flow set ${column} = $2 where id = $1`, [flowId, typeof value === "boolean" || value === null ? value : JSON.stringify(value)]);
  }
  for (const [column, value] of Object.entries(group)) {
    await h.db.query(`update flow_group set ${column} = $2 where id = (select flow_group_id from flow where id = $1)`, [flowId, JSON.stringify(value)]);
  }
  return flowId;
}

/** A flow registered inactive through create_flow (the API stores its schedule). */
async function registeredFlow(flowOptions: Parameters<typeof createFlow>[2]): Promise<string> {
  const flowId = (await setupFlow(h, { ...flowOptions, set_schedule_active: false })).flowId;
  await h.db.query("update flow set is_schedule_active = true where id = $1", [flowId]);
  return flowId;
}

async function runsOf(flowId: string): Promise<any[]> {
  const { rows } = await h.db.query(
    `select fr.*, (select count(*)::int from flow_run_state s where s.flow_run_id = fr.id) as state_rows
     from flow_run fr where fr.flow_id = $1 order by fr.scheduled_start_time, fr.parameters::text, fr.labels::text`,
    [flowId],
  );
  return rows;
}

const startTimes = (rows: { scheduled_start_time: Date }[]) => rows.map((run) => run.scheduled_start_time.getTime());
const gaps = (times: number[]) => times.slice(1).map((time, index) => time - times[index]!);

describe("check 49: the pass", () => {
  test("one active flow with no runs → 10 runs as create_flow_run makes them; an immediate second pass → 0", async () => {
    const before = Date.now();
    const flowId = await activeFlow(scheduleOf(interval(3600, { start_date: utc(new Date(Date.UTC(2020, 0, 1))) })));
    expect(await runScheduler(h.db, options)).toEqual({ flows: 1, runsCreated: 10, failures: [] });

    const runs = await runsOf(flowId);
    expect(runs).toHaveLength(10);
    for (const run of runs) {
      expect(run).toMatchObject({ state: "Scheduled", version: 1, state_message: "Flow run scheduled.", auto_scheduled: true, labels: [], parameters: {}, context: {}, run_config: null, state_rows: 1 });
      expect(run.scheduled_start_time.getTime()).toBeGreaterThan(before);
      expect(run.state_start_time).toEqual(run.scheduled_start_time);
      expect(run.name).toMatch(/^[a-z]+-[a-z]+$/);
      expect(run.idempotency_key).toBe(`auto-scheduled:${run.scheduled_start_time.toISOString().replace(".000Z", "+00:00")}`);
      expect(run.serialized_state).toMatchObject({ type: "Scheduled", message: "Flow run scheduled.", _result: { type: "NoResultType" } });
      expect(new Date(run.serialized_state.start_time)).toEqual(run.scheduled_start_time);
    }
    expect(gaps(startTimes(runs))).toEqual(Array(9).fill(3_600_000));
    const taskRuns = await h.db.query("select count(*)::int as n from task_run t join flow_run r on r.id = t.flow_run_id where r.flow_id = $1 and t.state = 'Pending'", [flowId]);
    expect(taskRuns.rows[0]).toEqual({ n: 20 });

    expect(await runScheduler(h.db, options)).toEqual({ flows: 1, runsCreated: 0, failures: [] });
    expect(await runsOf(flowId)).toHaveLength(10);
  });

  test("archived or inactive flows, or flows without a schedule → 0", async () => {
    const archived = await activeFlow(scheduleOf(interval(3600)), { archived: true });
    const inactive = await activeFlow(scheduleOf(interval(3600)), { is_schedule_active: false });
    await activeFlow(null);
    expect(await runScheduler(h.db, options)).toEqual({ flows: 0, runsCreated: 0, failures: [] });
    expect(await runsOf(archived)).toHaveLength(0);
    expect(await runsOf(inactive)).toHaveLength(0);
  });

  test("limit 100 → 100", async () => {
    const flowId = await activeFlow(scheduleOf(interval(600)));
    expect(await runScheduler(h.db, { ...options, maxRunsPerFlow: 100 })).toMatchObject({ runsCreated: 100 });
    expect(await runsOf(flowId)).toHaveLength(100);
  });

  test("pages through many flows (keyset paging on id), every flow once", async () => {
    const flows: string[] = [];
    for (let index = 0; index < 7; index += 1) flows.push(await activeFlow(scheduleOf(interval(3600))));
    expect(await runScheduler(h.db, { ...options, maxRunsPerFlow: 2, pageSize: 3 })).toEqual({ flows: 7, runsCreated: 14, failures: [] });
    for (const flowId of flows) expect(await runsOf(flowId)).toHaveLength(2);
  });

  test.each([1, 3])("schedules %i page(s) concurrently: every flow once", async (concurrency) => {
    const flows: string[] = [];
    for (let index = 0; index < 7; index += 1) flows.push(await activeFlow(scheduleOf(interval(3600))));
    expect(await runScheduler(h.db, { ...options, maxRunsPerFlow: 2, pageSize: 2, concurrency })).toEqual({ flows: 7, runsCreated: 14, failures: [] });
    for (const flowId of flows) expect(await runsOf(flowId)).toHaveLength(2);
    expect(await runScheduler(h.db, { ...options, maxRunsPerFlow: 2, pageSize: 2, concurrency })).toEqual({ flows: 7, runsCreated: 0, failures: [] });
  });

  test.each([1, 2])("inserts at most %i page(s) at a time and reads the next page meanwhile", async (concurrency) => {
    for (let index = 0; index < 8; index += 1) await activeFlow(scheduleOf(interval(3600)));
    let inserting = 0;
    let mostInserting = 0;
    let readDuringInserts = 0;
    const watched = {
      async query(config: { text: string }, values?: unknown[]) {
        const insert = config.text.includes("INSERT INTO flow_run ");
        if (!insert && inserting === concurrency && config.text.includes("FROM flow f")) readDuringInserts += 1;
        if (insert) mostInserting = Math.max(mostInserting, ++inserting);
        try {
          if (insert) await new Promise((resolve) => setTimeout(resolve, 50)); // a slow insert: the next pages must wait
          return await h.db.query(config, values);
        } finally {
          if (insert) inserting -= 1;
        }
      },
    };
    expect(await runScheduler(watched as never, { ...options, maxRunsPerFlow: 1, pageSize: 2, concurrency })).toMatchObject({ flows: 8, runsCreated: 8 });
    expect(mostInserting).toBe(concurrency);
    expect(readDuringInserts).toBeGreaterThan(0);
  });

  test("a flow that cannot be scheduled is reported and logged, and does not stop the others", async () => {
    const logs = captureLogs();
    const missing = await activeFlow(scheduleOf(interval(3600)), { parameters: [{ name: "x", required: true }] });
    const unreadable = await activeFlow({ type: "Schedule", clocks: [{ type: "RRuleClock" }] });
    const fine = await activeFlow(scheduleOf(interval(3600)));
    const result = await runScheduler(h.db, { ...options, log: logs.loggerFor("Scheduler") });
    expect(result.runsCreated).toBe(10);
    expect(result.failures).toHaveLength(2);
    expect(result.failures).toEqual(
      expect.arrayContaining([
        { flow_id: missing, message: "Required parameters were not supplied: {'x'}" },
        { flow_id: unreadable, message: expect.stringContaining("RRuleClock") },
      ]),
    );
    expect(await runsOf(fine)).toHaveLength(10);
    expect(logs.lines).toContainEqual(expect.objectContaining({ name: "prefect-server.Scheduler", level: 40, flow_id: missing }));
  });

  test.each([
    { pageSize: 500, concurrency: 1 },
    { pageSize: 2, concurrency: 2 },
  ])("when a page's insert fails, the page is scheduled flow by flow and only the failing flow misses out (%o)", async (paging) => {
    const flows = [await activeFlow(scheduleOf(interval(3600))), await activeFlow(scheduleOf(interval(3600))), await activeFlow(scheduleOf(interval(3600)))];
    const poisoned = flows[1]!;
    await h.db.query(`create function towel_test_refuse() returns trigger language plpgsql as $$
      begin if new.flow_id = '${poisoned}' then raise exception 'refused for the test'; end if; return new; end $$`);
    await h.db.query("create trigger towel_test_refuse before insert on flow_run for each row execute function towel_test_refuse()");
    try {
      const result = await runScheduler(h.db, { ...options, ...paging });
      expect(result).toEqual({ flows: 3, runsCreated: 20, failures: [{ flow_id: poisoned, message: "refused for the test" }] });
      expect(await runsOf(flows[0]!)).toHaveLength(10);
      expect(await runsOf(poisoned)).toHaveLength(0);
      expect(await runsOf(flows[2]!)).toHaveLength(10);
    } finally {
      await h.db.query("drop trigger towel_test_refuse on flow_run; drop function towel_test_refuse()");
    }
  });

  test("runs the API created for the same events are recognised, also for a start date with microseconds", async () => {
    // Core keeps µs in start dates; an idempotency key computed from a millisecond Date would differ from the
    // API's and the towel would create every run a second time.
    const flowId = (await setupFlow(h, { schedule: scheduleOf(interval(3600, { start_date: utc(new Date(Date.UTC(2020, 0, 1, 0, 0, 0, 123)), "456") })) })).flowId;
    expect((await h.ok(SET_ACTIVE, { input: { flow_id: flowId } })).set_schedule_active.success).toBe(true);
    const fromApi = await runsOf(flowId);
    expect(fromApi).toHaveLength(10);
    expect(fromApi[0].idempotency_key).toMatch(/^auto-scheduled:\d{4}-\d\d-\d\dT\d\d:00:00\.123456\+00:00$/);

    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 0 });
    expect((await runsOf(flowId)).map((run) => run.id)).toEqual(fromApi.map((run) => run.id));
    // A pass an hour later adds exactly the one new event.
    const later = fromDate(new Date(Date.now() + 3_600_000));
    expect(await runScheduler(h.db, { ...options, now: later })).toMatchObject({ runsCreated: 1 });
    expect(await runsOf(flowId)).toHaveLength(11);
  });

  test("labels, run_config and parameters follow create_flow_run's precedence", async () => {
    const flowId = await activeFlow(
      scheduleOf(interval(3600)),
      { run_config: { type: "UniversalRun", labels: ["flow-label"] }, parameters: [{ name: "x", default: 1 }, { name: "y", default: 0 }] },
      { default_parameters: { x: 2 } },
    );
    await runScheduler(h.db, options);
    expect((await runsOf(flowId))[0]).toMatchObject({ labels: ["flow-label"], run_config: { type: "UniversalRun", labels: ["flow-label"] }, parameters: { x: 2, y: 0 } });
  });
});

describe("checks 36–38: several clocks, through the scheduler pass", () => {
  test("check 36: two 2-minute clocks a minute apart alternate their parameters, earliest x=a", async () => {
    const now = Date.now();
    const flowId = await registeredFlow({
      schedule: scheduleOf(
        interval(120, { start_date: utc(new Date(now + 60_000)), parameter_defaults: { x: "a" } }),
        interval(120, { start_date: utc(new Date(now)), parameter_defaults: { x: "b" } }),
      ),
    });
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 10 });
    const rows = await runsOf(flowId);
    expect(rows.map((run) => run.parameters.x)).toEqual(["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]);
    expect(gaps(startTimes(rows))).toEqual(Array(9).fill(60_000));
    // events with parameters are looked at again on every pass, and found
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 0 });
  });

  test("check 36: clock labels alternate; a clock without labels falls back to the flow's labels, sorted", async () => {
    const now = Date.now();
    const labelled = await registeredFlow({
      schedule: scheduleOf(interval(120, { start_date: utc(new Date(now + 60_000)), labels: ["a", "b"] }), interval(120, { start_date: utc(new Date(now)), labels: ["c", "d"] })),
    });
    const fallback = await registeredFlow({
      schedule: scheduleOf(interval(120, { start_date: utc(new Date(now + 60_000)), labels: ["a", "b"] }), interval(120, { start_date: utc(new Date(now)) })),
      run_config: { type: "UniversalRun", labels: ["zz", "yy"] },
    });
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 20 });
    expect((await runsOf(labelled)).map((run) => run.labels)).toEqual([...Array(5)].flatMap(() => [["a", "b"], ["c", "d"]]));
    expect((await runsOf(fallback)).map((run) => run.labels)).toEqual([...Array(5)].flatMap(() => [["a", "b"], ["yy", "zz"]]));
  });

  test("check 37: identical clocks → 10 distinct times; different parameters/labels (None vs []) at the same times → 10 runs over 5 times", async () => {
    const start = utc(new Date(Date.now() - 3_600_000));
    const twins = await registeredFlow({ schedule: scheduleOf(interval(60, { start_date: start }), interval(60, { start_date: start })) });
    const variants = await registeredFlow({
      schedule: scheduleOf(
        interval(60, { start_date: start, parameter_defaults: { x: 1 }, labels: null }),
        interval(60, { start_date: start, parameter_defaults: { x: 1 }, labels: [] }),
      ),
    });
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 20 });
    const twinRuns = await runsOf(twins);
    expect(twinRuns).toHaveLength(10);
    expect(new Set(startTimes(twinRuns)).size).toBe(10);
    const variantRuns = await runsOf(variants);
    expect(variantRuns).toHaveLength(10);
    expect(new Set(startTimes(variantRuns)).size).toBe(5);

    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 0 });
    expect(await runsOf(variants)).toHaveLength(10);
  });

  test("check 38: the flow group's monthly schedule wins over the flow's every-minute schedule", async () => {
    const tenantId = await createTenant(h);
    const projectId = await createProject(h, tenantId);
    const name = unique("monthly");
    const flowId = await createFlow(h, projectId, { name, schedule: scheduleOf(cron("* * * * *")) });
    const { rows } = await h.db.query("select flow_group_id from flow where id = $1", [flowId]);
    await h.db.query("update flow_group set schedule = $2 where id = $1", [rows[0].flow_group_id, JSON.stringify(scheduleOf(cron("0 0 1 * *")))]);
    await h.db.query("update flow set is_schedule_active = true where id = $1", [flowId]);

    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 10 });
    const runs = await runsOf(flowId);
    expect(runs).toHaveLength(10);
    expect(Math.max(...startTimes(runs))).toBeGreaterThan(Date.now() + 15 * 60_000);
    expect(runs.every((run) => run.scheduled_start_time.getUTCDate() === 1 && run.scheduled_start_time.getUTCHours() === 0)).toBe(true);
  });
});

describe("check 39: set_flow_group_schedule, then the scheduler pass", () => {
  const groupOf = async (flowId: string) => (await h.db.query("select flow_group_id from flow where id = $1", [flowId])).rows[0].flow_group_id as string;

  test("an interval of 4200 s is stored as v1 stores it and scheduled 70 minutes apart; an interval of 60 s a minute apart", async () => {
    const flowId = await registeredFlow({});
    const groupId = await groupOf(flowId);
    expect((await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 4200 }] } })).set_flow_group_schedule.success).toBe(true);
    const stored = (await h.db.query("select schedule from flow_group where id = $1", [groupId])).rows[0].schedule;
    expect(stored).toEqual({ type: "Schedule", clocks: [{ type: "IntervalClock", interval: 4_200_000_000, start_date: null }] });
    // the mutation planned the runs at once; the pass finds them all
    expect(await runsOf(flowId)).toHaveLength(10);
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 0 });
    // without them, the pass plans the same events
    const planned = startTimes(await runsOf(flowId));
    await h.db.query("delete from flow_run where flow_id = $1", [flowId]);
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 10 });
    const times = startTimes(await runsOf(flowId));
    expect(times).toEqual(planned);
    expect(gaps(times)).toEqual(Array(9).fill(4_200_000));

    await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 60 }], timezone: "US/Pacific" } });
    await h.db.query("delete from flow_run where flow_id = $1", [flowId]);
    expect(await runScheduler(h.db, options)).toMatchObject({ runsCreated: 10 });
    expect(gaps(startTimes(await runsOf(flowId)))).toEqual(Array(9).fill(60_000));
  });
});
