// Scheduler pass (spec §5; acceptance check 49), on a real database with the interval-only test schedule source.
// Checks 36–38 need the shared schedules module (Core's clocks), which is not here yet.
import { beforeEach, describe, expect, test } from "vitest";
import { runScheduler, type SchedulerOptions } from "../../services/towel/src/loops/scheduler.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { insertFlow } from "../database/fixtures.ts";
import { intervalSchedule, intervalSchedules } from "./harness.ts";

const db = useTestDatabase();
const options: SchedulerOptions = { schedules: intervalSchedules, maxRunsPerFlow: 10 };

beforeEach(async () => {
  await db.pool.query("delete from tenant");
});

async function activeFlow(
  schedule: unknown = intervalSchedule(3600),
  columns: Record<string, unknown> = {},
  group: Record<string, unknown> = {},
): Promise<{ flowId: string; tenantId: string }> {
  const flow = await insertFlow(db.pool, { tasks: [{}, {}] });
  const set = { schedule, is_schedule_active: true, ...columns };
  for (const [column, value] of Object.entries(set)) {
    await db.pool.query(`update flow set ${column} = $2 where id = $1`, [flow.flowId, typeof value === "boolean" ? value : JSON.stringify(value)]);
  }
  for (const [column, value] of Object.entries(group)) {
    await db.pool.query(`update flow_group set ${column} = $2 where id = (select flow_group_id from flow where id = $1)`, [
      flow.flowId,
      JSON.stringify(value),
    ]);
  }
  return flow;
}

interface Run {
  id: string;
  state: string;
  version: number;
  state_message: string;
  auto_scheduled: boolean;
  scheduled_start_time: Date;
  state_start_time: Date;
  labels: string[];
  parameters: Record<string, unknown>;
  run_config: unknown;
  context: unknown;
  name: string;
  idempotency_key: string;
  serialized_state: Record<string, unknown>;
}

async function runsOf(flowId: string): Promise<Run[]> {
  const { rows } = await db.pool.query<Run>(
    `select id, state, version, state_message, auto_scheduled, scheduled_start_time, state_start_time, labels, parameters,
            run_config, context, name, idempotency_key, serialized_state
     from flow_run where flow_id = $1 order by scheduled_start_time`,
    [flowId],
  );
  return rows;
}

describe("Scheduler (check 49)", () => {
  test("one active flow with no runs → 10 runs exactly as create_flow_run makes them; a second pass → 0", async () => {
    const flow = await activeFlow();
    expect(await runScheduler(db.pool, options)).toEqual({ flows: 1, runsCreated: 10, failures: [] });

    const runs = await runsOf(flow.flowId);
    expect(runs).toHaveLength(10);
    for (const run of runs) {
      expect(run).toMatchObject({ state: "Scheduled", version: 1, state_message: "Flow run scheduled.", auto_scheduled: true, labels: [], parameters: {}, context: {}, run_config: null });
      expect(run.scheduled_start_time.getTime()).toBeGreaterThan(Date.now() - 1000);
      expect(run.state_start_time).toEqual(run.scheduled_start_time);
      expect(run.name).toMatch(/^[a-z]+-[a-z]+$/);
      expect(run.idempotency_key).toBe(`auto-scheduled:${run.scheduled_start_time.toISOString().replace("Z", "+00:00")}`);
      expect(run.serialized_state).toMatchObject({ type: "Scheduled", message: "Flow run scheduled.", _result: { type: "NoResultType" } });
      expect(new Date(run.serialized_state.start_time as string)).toEqual(run.scheduled_start_time);
    }
    const hours = runs.map((run) => run.scheduled_start_time.getTime() / 3600_000);
    expect(hours.every((hour, index) => index === 0 || hour - hours[index - 1]! === 1)).toBe(true);
    const states = await db.pool.query("select count(*)::int as n from flow_run_state s join flow_run r on r.id = s.flow_run_id where r.flow_id = $1", [flow.flowId]);
    expect(states.rows[0]).toEqual({ n: 10 });
    const taskRuns = await db.pool.query("select count(*)::int as n from task_run t join flow_run r on r.id = t.flow_run_id where r.flow_id = $1 and t.state = 'Pending'", [flow.flowId]);
    expect(taskRuns.rows[0]).toEqual({ n: 20 });

    expect(await runScheduler(db.pool, options)).toEqual({ flows: 1, runsCreated: 0, failures: [] });
    expect(await runsOf(flow.flowId)).toHaveLength(10);
  });

  test("archived or inactive flows, or flows without a schedule → 0", async () => {
    await activeFlow(intervalSchedule(3600), { archived: true });
    await activeFlow(intervalSchedule(3600), { is_schedule_active: false });
    await activeFlow(null);
    expect(await runScheduler(db.pool, options)).toMatchObject({ runsCreated: 0 });
  });

  test("limit 100 → 100", async () => {
    const flow = await activeFlow();
    expect(await runScheduler(db.pool, { ...options, maxRunsPerFlow: 100 })).toMatchObject({ runsCreated: 100 });
    expect(await runsOf(flow.flowId)).toHaveLength(100);
  });

  test("pages through many flows (keyset paging)", async () => {
    const flows = [];
    for (let index = 0; index < 7; index += 1) flows.push(await activeFlow());
    expect(await runScheduler(db.pool, { ...options, maxRunsPerFlow: 2, pageSize: 3 })).toEqual({ flows: 7, runsCreated: 14, failures: [] });
  });

  test("the flow group's schedule wins over the flow's", async () => {
    const flow = await activeFlow(intervalSchedule(60), {}, { schedule: intervalSchedule(86_400) });
    await runScheduler(db.pool, options);
    const runs = await runsOf(flow.flowId);
    expect(runs[1]!.scheduled_start_time.getTime() - runs[0]!.scheduled_start_time.getTime()).toBe(86_400_000);
  });

  test("labels, run_config and parameters follow create_flow_run's precedence", async () => {
    const flow = await activeFlow(
      intervalSchedule(3600),
      { run_config: { type: "UniversalRun", labels: ["flow-label"] }, parameters: [{ name: "x", default: 1 }, { name: "y", default: 5 }] },
      { default_parameters: { x: 2 } },
    );
    await runScheduler(db.pool, options);
    expect((await runsOf(flow.flowId))[0]).toMatchObject({
      labels: ["flow-label"],
      run_config: { type: "UniversalRun", labels: ["flow-label"] },
      parameters: { x: 2, y: 5 },
    });

    const grouped = await activeFlow(intervalSchedule(3600), { run_config: { labels: ["flow"] } }, { labels: ["b", "a"], run_config: { type: "LocalRun" } });
    await runScheduler(db.pool, options);
    expect((await runsOf(grouped.flowId))[0]).toMatchObject({ labels: ["a", "b"], run_config: { type: "LocalRun" } });
  });

  test("clock parameter defaults and labels go into the runs, and are not skipped by a second pass", async () => {
    const flow = await activeFlow(intervalSchedule(3600, { parameter_defaults: { x: "a" }, labels: ["z", "c"] }), {
      parameters: [{ name: "x", required: true }],
    });
    expect(await runScheduler(db.pool, options)).toMatchObject({ runsCreated: 10 });
    expect((await runsOf(flow.flowId))[0]).toMatchObject({ parameters: { x: "a" }, labels: ["c", "z"] });
    // the events are computed again but their idempotency keys already exist
    expect(await runScheduler(db.pool, options)).toMatchObject({ runsCreated: 0 });
    expect(await runsOf(flow.flowId)).toHaveLength(10);
  });

  test("a flow that cannot be scheduled is reported and does not stop the others", async () => {
    const broken = await activeFlow(intervalSchedule(3600), { parameters: [{ name: "x", required: true }] });
    const unreadable = await activeFlow({ clocks: "nope" });
    const fine = await activeFlow();
    const result = await runScheduler(db.pool, options);
    expect(result.runsCreated).toBe(10);
    expect(result.failures).toEqual(
      expect.arrayContaining([
        { flow_id: broken.flowId, message: "Required parameters were not supplied: {'x'}" },
        { flow_id: unreadable.flowId, message: "not a schedule" },
      ]),
    );
    expect(await runsOf(fine.flowId)).toHaveLength(10);
  });

  test("runs already there (e.g. from the API) are kept; only the missing events are created", async () => {
    const flow = await activeFlow();
    await runScheduler(db.pool, { ...options, maxRunsPerFlow: 4 });
    const first = (await runsOf(flow.flowId)).map((run) => run.id);
    expect(await runScheduler(db.pool, options)).toMatchObject({ runsCreated: 6 });
    const all = await runsOf(flow.flowId);
    expect(all.slice(0, 4).map((run) => run.id)).toEqual(first);
  });
});
