// Schedules: acceptance checks 32–39, 35 (unarchive), 49 (the API's run creation for the scheduler loop).
import { describe, expect, test } from "vitest";
import { scheduleFlowRuns, unarchiveFlow } from "../../services/domain/src/scheduling.ts";
import { createFlow, createFlowRun, createProject, createTenant, setFlowRunState, setupFlow, unique, useMutations } from "./helpers.ts";

const h = useMutations();
const OPTIONS = { maxRuns: 10 };

const cron = (expression: string, extra: Record<string, unknown> = {}) => ({ type: "CronClock", cron: expression, ...extra });
const interval = (seconds: number, extra: Record<string, unknown> = {}) => ({ type: "IntervalClock", interval: seconds * 1_000_000, ...extra });
const scheduleOf = (...clocks: Record<string, unknown>[]) => ({ type: "Schedule", clocks });
const utc = (date: Date) => ({ dt: date.toISOString().slice(0, 23), tz: "UTC" });

const SET_ACTIVE = `mutation($input: set_schedule_active_input!) { set_schedule_active(input: $input) { success error } }`;
const SET_INACTIVE = `mutation($input: set_schedule_inactive_input!) { set_schedule_inactive(input: $input) { success error } }`;
const SET_GROUP_SCHEDULE = `mutation($input: set_flow_group_schedule_input!) { set_flow_group_schedule(input: $input) { success error } }`;
const DELETE_GROUP_SCHEDULE = `mutation($input: delete_flow_group_schedule_input!) { delete_flow_group_schedule(input: $input) { success error } }`;

const setActive = async (flowId: string) => (await h.ok(SET_ACTIVE, { input: { flow_id: flowId } })).set_schedule_active.success as boolean;
const setInactive = async (flowId: string) => (await h.ok(SET_INACTIVE, { input: { flow_id: flowId } })).set_schedule_inactive.success as boolean;

async function flowRow(flowId: string) {
  return (await h.db.query("SELECT * FROM flow WHERE id = $1", [flowId])).rows[0];
}

async function runs(flowId: string) {
  const { rows } = await h.db.query(
    `SELECT fr.*, (SELECT count(*)::int FROM flow_run_state s WHERE s.flow_run_id = fr.id) AS state_rows
     FROM flow_run fr WHERE fr.flow_id = $1 ORDER BY fr.scheduled_start_time, fr.parameters::text, fr.labels::text`,
    [flowId],
  );
  return rows;
}

const autoRuns = async (flowId: string) => (await runs(flowId)).filter((run) => run.auto_scheduled);
const startTimes = (rows: { scheduled_start_time: Date }[]) => rows.map((run) => run.scheduled_start_time.getTime());

async function groupOf(flowId: string): Promise<string> {
  return (await flowRow(flowId)).flow_group_id;
}

describe("activation (checks 32–34)", () => {
  test("check 32: a cron schedule is activated by create_flow and gets 10 Scheduled runs like create_flow_run's", async () => {
    const before = Date.now();
    const { flowId } = await setupFlow(h, { schedule: scheduleOf(cron("* * * * *")), set_schedule_active: true, run_config: { type: "UniversalRun", labels: ["b", "a"] } });
    expect((await flowRow(flowId)).is_schedule_active).toBe(true);
    const rows = await runs(flowId);
    expect(rows).toHaveLength(10);
    for (const run of rows) {
      expect(run).toMatchObject({ state: "Scheduled", state_message: "Flow run scheduled.", version: 1, auto_scheduled: true, state_rows: 1, labels: ["a", "b"], context: {} });
      expect(run.scheduled_start_time.getTime()).toBeGreaterThan(before);
      expect(run.scheduled_start_time.getUTCSeconds()).toBe(0);
      expect(run.idempotency_key).toBe(`auto-scheduled:${run.scheduled_start_time.toISOString().replace(".000Z", "+00:00")}`);
      expect(run.serialized_state).toMatchObject({ type: "Scheduled", message: "Flow run scheduled." });
      expect(run.state_start_time).toEqual(run.scheduled_start_time);
    }
    const times = startTimes(rows);
    expect(times.slice(1).map((time, index) => time - times[index]!)).toEqual(Array(9).fill(60_000));
  });

  test("check 32: set_schedule_active false, no schedule at all, and a group schedule only", async () => {
    const off = await setupFlow(h, { schedule: scheduleOf(cron("* * * * *")), set_schedule_active: false });
    expect((await flowRow(off.flowId)).is_schedule_active).toBe(false);
    expect(await runs(off.flowId)).toHaveLength(0);
    const none = await setupFlow(h, { set_schedule_active: true });
    expect((await flowRow(none.flowId)).is_schedule_active).toBe(false);
    expect(await setActive(none.flowId)).toBe(false);

    const name = unique("grouped");
    const first = await createFlow(h, none.projectId, { name });
    await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: await groupOf(first), interval_clocks: [{ interval: 3600 }] } });
    const second = await createFlow(h, none.projectId, { name, set_schedule_active: true });
    expect((await flowRow(second)).is_schedule_active).toBe(true);
    expect(await runs(second)).toHaveLength(10);
  });

  test("Core's register sequence: create_flow_from_compressed_string without activation, then set_schedule_active", async () => {
    const { flowId } = await setupFlow(h, { schedule: scheduleOf(interval(600)), set_schedule_active: false });
    expect(await setActive(flowId)).toBe(true);
    expect(await autoRuns(flowId)).toHaveLength(10);
    expect(await h.error(SET_ACTIVE, { input: { flow_id: null } })).toMatch(/flow_id/);
    expect(await setActive("00000000-0000-4000-8000-000000000000")).toBe(false);
  });

  test("check 33: required parameters must be covered by the group's defaults or every clock", async () => {
    const parameters = [{ name: "p", slug: "p", required: true, default: null }];
    const bare = await setupFlow(h, { schedule: scheduleOf(interval(600)), parameters });
    expect(await h.error(SET_ACTIVE, { input: { flow_id: bare.flowId } })).toBe("Can not schedule a flow that has required parameters.");
    expect((await flowRow(bare.flowId)).is_schedule_active).toBe(false);

    await h.ok(`mutation($input: set_flow_group_default_parameters_input!) { set_flow_group_default_parameters(input: $input) { success } }`, {
      input: { flow_group_id: await groupOf(bare.flowId), parameters: { p: 1 } },
    });
    expect(await setActive(bare.flowId)).toBe(true);
    expect((await autoRuns(bare.flowId))[0].parameters).toEqual({ p: 1 });

    const covered = await setupFlow(h, { schedule: scheduleOf(interval(600, { parameter_defaults: { p: 2 } })), parameters });
    expect(await setActive(covered.flowId)).toBe(true);
    expect((await autoRuns(covered.flowId)).map((run) => run.parameters)).toEqual(Array(10).fill({ p: 2 }));

    const partly = await setupFlow(h, { schedule: scheduleOf(interval(600, { parameter_defaults: { p: 2 } }), interval(900)), parameters });
    expect(await h.error(SET_ACTIVE, { input: { flow_id: partly.flowId } })).toBe("Can not schedule a flow that has required parameters.");
  });

  test("create_flow asking for activation of a flow with uncovered required parameters registers it inactive", async () => {
    const { flowId } = await setupFlow(h, {
      schedule: scheduleOf(interval(600)),
      parameters: [{ name: "p", slug: "p", required: true, default: null }],
      set_schedule_active: true,
    });
    expect((await flowRow(flowId)).is_schedule_active).toBe(false);
    expect(await runs(flowId)).toHaveLength(0);
  });

  test("check 34: activation is idempotent; deactivation deletes only auto-scheduled Scheduled runs; reactivation recreates the same times", async () => {
    const anchored = { dt: "2024-03-01T09:17:00", tz: "US/Eastern" };
    const { flowId } = await setupFlow(h, { schedule: scheduleOf(interval(3 * 3600, { start_date: anchored })), set_schedule_active: true });
    expect(await setActive(flowId)).toBe(true);
    const first = await autoRuns(flowId);
    expect(first).toHaveLength(10);
    const manual = await createFlowRun(h, { flow_id: flowId });
    await setFlowRunState(h, first[9].id, "Running");

    expect(await setInactive(flowId)).toBe(true);
    expect((await flowRow(flowId)).is_schedule_active).toBe(false);
    expect((await runs(flowId)).map((run) => run.id).sort()).toEqual([manual, first[9].id].sort());

    await h.db.query("DELETE FROM flow_run WHERE id = $1", [first[9].id]);
    expect(await setActive(flowId)).toBe(true);
    expect(startTimes(await autoRuns(flowId))).toEqual(startTimes(first));
    expect(await setInactive("00000000-0000-4000-8000-000000000000")).toBe(false);
  });
});

describe("archive and unarchive (check 35)", () => {
  test("archiving deletes the auto runs and cancels manual ones; unarchiving an active flow schedules again", async () => {
    const { flowId } = await setupFlow(h, { schedule: scheduleOf(interval(600)), set_schedule_active: true });
    const manual = await createFlowRun(h, { flow_id: flowId, scheduled_start_time: new Date(Date.now() + 86_400_000).toISOString() });
    expect(await autoRuns(flowId)).toHaveLength(10);
    await h.ok(`mutation($id: UUID!) { archive_flow(input: {flow_id: $id}) { success } }`, { id: flowId });
    const left = await runs(flowId);
    expect(left.map((run) => [run.id, run.state])).toEqual([[manual, "Cancelled"]]);
    expect(left[0].state_message).toContain("archived");

    expect(await unarchiveFlow(h.db, flowId, OPTIONS)).toBe(true);
    expect((await flowRow(flowId)).archived).toBe(false);
    expect(await autoRuns(flowId)).toHaveLength(10);
    expect(await unarchiveFlow(h.db, "00000000-0000-4000-8000-000000000000", OPTIONS)).toBe(false);
  });
});

describe("several clocks (checks 36–38)", () => {
  test("check 36: two 2-minute clocks a minute apart alternate their parameters, earliest x=a", async () => {
    const now = Date.now();
    const { flowId } = await setupFlow(h, {
      schedule: scheduleOf(
        interval(120, { start_date: utc(new Date(now + 60_000)), parameter_defaults: { x: "a" } }),
        interval(120, { start_date: utc(new Date(now)), parameter_defaults: { x: "b" } }),
      ),
      set_schedule_active: true,
    });
    const rows = await autoRuns(flowId);
    expect(rows.map((run) => run.parameters.x)).toEqual(["a", "b", "a", "b", "a", "b", "a", "b", "a", "b"]);
    const times = startTimes(rows);
    expect(times.slice(1).map((time, index) => time - times[index]!)).toEqual(Array(9).fill(60_000));
  });

  test("check 36: clock labels alternate; a clock without labels falls back to the flow's labels, sorted", async () => {
    const now = Date.now();
    const labelled = await setupFlow(h, {
      schedule: scheduleOf(interval(120, { start_date: utc(new Date(now + 60_000)), labels: ["a", "b"] }), interval(120, { start_date: utc(new Date(now)), labels: ["c", "d"] })),
      set_schedule_active: true,
    });
    expect((await autoRuns(labelled.flowId)).map((run) => run.labels)).toEqual([...Array(5)].flatMap(() => [["a", "b"], ["c", "d"]]));

    const fallback = await setupFlow(h, {
      schedule: scheduleOf(interval(120, { start_date: utc(new Date(now + 60_000)), labels: ["a", "b"] }), interval(120, { start_date: utc(new Date(now)) })),
      run_config: { type: "UniversalRun", labels: ["zz", "yy"] },
      set_schedule_active: true,
    });
    expect((await autoRuns(fallback.flowId)).map((run) => run.labels)).toEqual([...Array(5)].flatMap(() => [["a", "b"], ["yy", "zz"]]));
  });

  test("check 37: identical clocks give 10 distinct times; different parameters/labels at the same times give 10 runs over 5 times", async () => {
    const start = utc(new Date(Date.now() - 3_600_000));
    const twins = await setupFlow(h, { schedule: scheduleOf(interval(60, { start_date: start }), interval(60, { start_date: start })), set_schedule_active: true });
    expect(new Set(startTimes(await autoRuns(twins.flowId))).size).toBe(10);

    const variants = await setupFlow(h, {
      schedule: scheduleOf(
        interval(60, { start_date: start, parameter_defaults: { x: 1 }, labels: null }),
        interval(60, { start_date: start, parameter_defaults: { x: 1 }, labels: [] }),
      ),
      set_schedule_active: true,
    });
    const rows = await autoRuns(variants.flowId);
    expect(rows).toHaveLength(10);
    expect(new Set(startTimes(rows)).size).toBe(5);

    const again = await scheduleFlowRuns(h.db, [variants.flowId], OPTIONS);
    const ids = again.get(variants.flowId) ?? [];
    expect(ids.length).toBeGreaterThan(0);
    expect(rows.map((run) => run.id)).toEqual(expect.arrayContaining(ids));
    expect(await autoRuns(variants.flowId)).toHaveLength(10);
  });

  test("check 38: the flow group's schedule wins over the flow's", async () => {
    const tenantId = await createTenant(h);
    const projectId = await createProject(h, tenantId);
    const name = unique("monthly");
    const first = await createFlow(h, projectId, { name });
    await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: await groupOf(first), cron_clocks: [{ cron: "0 0 1 * *" }] } });
    const flowId = await createFlow(h, projectId, { name, schedule: scheduleOf(cron("* * * * *")), set_schedule_active: true });
    const rows = await autoRuns(flowId);
    expect(rows).toHaveLength(10);
    expect(Math.max(...startTimes(rows))).toBeGreaterThan(Date.now() + 15 * 60_000);
    expect(rows.every((run) => run.scheduled_start_time.getUTCDate() === 1)).toBe(true);

    await h.ok(DELETE_GROUP_SCHEDULE, { input: { flow_group_id: await groupOf(flowId) } });
    expect((await h.db.query("SELECT schedule FROM flow_group WHERE id = $1", [await groupOf(flowId)])).rows[0].schedule).toBeNull();
    const own = await autoRuns(flowId);
    expect(own).toHaveLength(10);
    expect(Math.max(...startTimes(own))).toBeLessThan(Date.now() + 12 * 60_000);
  });
});

describe("set_flow_group_schedule (check 39)", () => {
  const stored = async (groupId: string) => (await h.db.query("SELECT schedule FROM flow_group WHERE id = $1", [groupId])).rows[0].schedule;

  test("stores v1's JSON; time zones; invalid zones and clocks are refused", async () => {
    const { flowId } = await setupFlow(h);
    const groupId = await groupOf(flowId);
    expect((await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 4200 }] } })).set_flow_group_schedule.success).toBe(true);
    expect(await stored(groupId)).toEqual({ type: "Schedule", clocks: [{ type: "IntervalClock", interval: 4_200_000_000, start_date: null }] });

    await h.ok(SET_GROUP_SCHEDULE, {
      input: { flow_group_id: groupId, cron_clocks: [{ cron: "42 0 0 * * *", parameter_defaults: { meep: "morp" } }, { cron: "43 0 0 * * *" }], interval_clocks: [{ interval: 60, parameter_defaults: {} }] },
    });
    expect(await stored(groupId)).toEqual({
      type: "Schedule",
      clocks: [
        { type: "CronClock", cron: "42 0 0 * * *", start_date: null, parameter_defaults: { meep: "morp" } },
        { type: "CronClock", cron: "43 0 0 * * *", start_date: null },
        { type: "IntervalClock", interval: 60_000_000, start_date: null },
      ],
    });

    await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 60 }], timezone: "US/Pacific" } });
    const { start_date: startDate } = (await stored(groupId)).clocks[0];
    expect(startDate.tz).toBe("US/Pacific");
    const pacificNow = new Date().toLocaleString("sv-SE", { timeZone: "US/Pacific" }).replace(" ", "T");
    expect(startDate.dt <= pacificNow.slice(0, 19) + "~").toBe(true);
    expect(startDate.dt.slice(0, 16) >= new Date(Date.now() - 120_000).toLocaleString("sv-SE", { timeZone: "US/Pacific" }).replace(" ", "T").slice(0, 16)).toBe(true);

    expect(await h.error(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 60 }], timezone: "Kalamazoo" } })).toBe(
      "Invalid timezone provided for schedule: Kalamazoo",
    );
    expect(await h.error(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, interval_clocks: [{ interval: 30 }] } })).toBe(
      "Invalid clock provided for schedule: {'type': 'IntervalClock', 'interval': 30000000, 'start_date': None}",
    );
    expect(await h.error(SET_GROUP_SCHEDULE, { input: { flow_group_id: groupId, cron_clocks: [{ cron: "nope" }] } })).toMatch(/^Invalid clock provided for schedule: \{'type': 'CronClock'/);
    expect((await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: "00000000-0000-4000-8000-000000000000", interval_clocks: [{ interval: 60 }] } })).set_flow_group_schedule.success).toBe(false);
  });

  test("an interval of 60 s gives events a minute apart, and a new group schedule replaces the planned runs at once", async () => {
    const { flowId } = await setupFlow(h, { schedule: scheduleOf(interval(3600)), set_schedule_active: true });
    expect(await autoRuns(flowId)).toHaveLength(10);
    const manual = await createFlowRun(h, { flow_id: flowId });
    await h.ok(SET_GROUP_SCHEDULE, { input: { flow_group_id: await groupOf(flowId), interval_clocks: [{ interval: 60 }] } });
    const rows = await autoRuns(flowId);
    const times = startTimes(rows);
    expect(times.slice(1).map((time, index) => time - times[index]!)).toEqual(Array(9).fill(60_000));
    expect((await runs(flowId)).map((run) => run.id)).toContain(manual);
  });
});

describe("scheduleFlowRuns for the scheduler loop (check 49, the API part)", () => {
  test("10 runs, then none; archived or inactive flows get none; 100 with maxRuns 100; a page of flows in one call", async () => {
    const { projectId, flowId } = await setupFlow(h, { schedule: scheduleOf(interval(600)) });
    await h.db.query("UPDATE flow SET is_schedule_active = true WHERE id = $1", [flowId]);
    expect((await scheduleFlowRuns(h.db, [flowId], OPTIONS)).get(flowId)).toHaveLength(10);
    expect((await scheduleFlowRuns(h.db, [flowId], OPTIONS)).get(flowId)).toBeUndefined();

    const inactive = await createFlow(h, projectId, { schedule: scheduleOf(interval(600)) });
    const archived = await createFlow(h, projectId, { schedule: scheduleOf(interval(600)) });
    await h.db.query("UPDATE flow SET is_schedule_active = true, archived = true WHERE id = $1", [archived]);
    const hundred = await createFlow(h, projectId, { schedule: scheduleOf(interval(600)) });
    const broken = await createFlow(h, projectId, { schedule: { type: "Schedule", clocks: [{ type: "RRuleClock" }] } });
    await h.db.query("UPDATE flow SET is_schedule_active = true WHERE id = ANY($1::uuid[])", [[hundred, broken]]);
    const page = await scheduleFlowRuns(h.db, [inactive, archived, hundred, broken], { maxRuns: 100 });
    expect([...page.keys()]).toEqual([hundred]);
    expect(page.get(hundred)).toHaveLength(100);
    expect(await runs(inactive)).toHaveLength(0);
    expect(await runs(archived)).toHaveLength(0);
  });
});
