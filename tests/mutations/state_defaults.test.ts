// The defaults v1's state deserialisation filled in (docs/v1-compatibility.md, "States sent without their
// defaults"): the UI sends bare states such as {"type": "Scheduled"}, and a Scheduled, Resume, Retrying or Queued
// state without a start time starts now, so the run re-enters the agent's queue. Checked in the state row, the run's
// state columns and the stored serialized_state, for flow and task runs, alone, batched and coalesced, and in the
// queue an agent polls.
import { describe, expect, test } from "vitest";
import { SHARED_STATEMENT_MAX_ITEMS, setTaskRunStates } from "../../services/domain/src/states.ts";
import { startsNowByDefault, STATE_NAMES, withStateDefaults } from "../../services/domain/src/state_classes.ts";
import { SET_FLOW_RUN_STATES, SET_TASK_RUN_STATES, createFlowRun, setFlowRunState, setupFlow, task, useMutations } from "./helpers.ts";

const h = useMutations();

const QUEUE = `mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`;
const queue = async (tenantId: string) =>
  (await h.ok(QUEUE, { input: { tenant_id: tenantId } })).get_runs_in_queue.flow_run_ids as string[];

const AT = "2030-01-02T03:04:05.678000+00:00";

describe("withStateDefaults", () => {
  test("Scheduled, Resume, Retrying and Queued start at the given time; Paused and every other state keep none", () => {
    const started = STATE_NAMES.filter((type) => withStateDefaults({ type }, AT).start_time === AT);
    expect(started.sort()).toEqual(["Queued", "Resume", "Retrying", "Scheduled"]);
    expect(STATE_NAMES.filter(startsNowByDefault).sort()).toEqual(started.sort());
    expect(withStateDefaults({ type: "Paused" }, AT)).toEqual({ type: "Paused" });
    expect(withStateDefaults({ type: "Paused", start_time: null }, AT)).toEqual({ type: "Paused", start_time: null });
  });

  test("a null start time counts as absent; a given one is kept", () => {
    expect(withStateDefaults({ type: "Scheduled", start_time: null }, AT).start_time).toBe(AT);
    const given = "2020-01-01T00:00:00+00:00";
    expect(withStateDefaults({ type: "Scheduled", start_time: given }, AT).start_time).toBe(given);
  });

  test("Retrying gets run_count 1 and Looped loop_count 1 when absent; given counts are kept", () => {
    expect(withStateDefaults({ type: "Retrying" }, AT)).toEqual({ type: "Retrying", start_time: AT, run_count: 1 });
    expect(withStateDefaults({ type: "Retrying", run_count: 3 }, AT).run_count).toBe(3);
    expect(withStateDefaults({ type: "Looped", message: "m" }, AT)).toEqual({ type: "Looped", message: "m", loop_count: 1 });
    expect(withStateDefaults({ type: "Looped", loop_count: null }, AT).loop_count).toBe(1);
    expect(withStateDefaults({ type: "Looped", loop_count: 4 }, AT).loop_count).toBe(4);
  });

  test("the state a meta state wraps gets its defaults too; the input is not changed", () => {
    const sent = { type: "Submitted", state: { type: "Scheduled", message: "m" } };
    expect(withStateDefaults(sent, AT)).toEqual({ type: "Submitted", state: { type: "Scheduled", message: "m", start_time: AT } });
    expect(sent).toEqual({ type: "Submitted", state: { type: "Scheduled", message: "m" } });
    // a state with nothing to fill in comes back as it is
    const full = { type: "Success", message: "done" };
    expect(withStateDefaults(full, AT)).toBe(full);
    // Queued is a meta state with a start time of its own
    expect(withStateDefaults({ type: "Queued", state: { type: "Retrying" } }, AT)).toEqual({
      type: "Queued",
      start_time: AT,
      state: { type: "Retrying", start_time: AT, run_count: 1 },
    });
  });

  test("without a time given, the start time is now in UTC as Python prints it", () => {
    const before = Date.now();
    const start = withStateDefaults({ type: "Scheduled" }).start_time as string;
    expect(start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(Date.parse(start)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(start)).toBeLessThanOrEqual(Date.now());
  });
});

async function newRun(tasks = [task("a")]) {
  const setup = await setupFlow(h, { tasks });
  const flowRunId = await createFlowRun(h, { flow_id: setup.flowId, scheduled_start_time: "2100-01-01T00:00:00+00:00" });
  const taskRunIds = (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1 ORDER BY id", [flowRunId])).rows.map((r) => r.id);
  return { ...setup, flowRunId, taskRunIds };
}

/** The run's state columns and its latest state row. */
async function stored(table: "flow_run" | "task_run", id: string) {
  const run = (await h.db.query(`SELECT state, state_start_time, serialized_state FROM ${table} WHERE id = $1`, [id])).rows[0];
  const row = (
    await h.db.query(`SELECT state, start_time, serialized_state FROM ${table}_state WHERE ${table}_id = $1 ORDER BY version DESC LIMIT 1`, [id])
  ).rows[0];
  return { run, row };
}

/** The start time stored, checked to be the same in the run, its state row and both serialized states, near now. */
async function expectStartedNow(table: "flow_run" | "task_run", id: string, type: string, since: number) {
  const { run, row } = await stored(table, id);
  expect(run.state).toBe(type);
  expect(row.state).toBe(type);
  expect(run.state_start_time).not.toBeNull();
  expect(row.start_time?.getTime()).toBe(run.state_start_time.getTime());
  expect(Date.parse(run.serialized_state.start_time)).toBe(run.state_start_time.getTime());
  expect(row.serialized_state).toEqual(run.serialized_state);
  expect(run.state_start_time.getTime()).toBeGreaterThanOrEqual(since - 1);
  expect(run.state_start_time.getTime()).toBeLessThanOrEqual(Date.now());
  return run.serialized_state;
}

describe("bare states through the API", () => {
  test("Start now: a bare Scheduled on an upcoming flow run starts now, and the agent's queue offers the run", async () => {
    const { tenantId, flowRunId } = await newRun();
    expect(await queue(tenantId)).toEqual([]);
    const since = Date.now();
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, version: 1, state: { type: "Scheduled" } }] } });
    expect(await expectStartedNow("flow_run", flowRunId, "Scheduled", since)).toEqual({ type: "Scheduled", start_time: expect.any(String) });
    expect(await queue(tenantId)).toEqual([flowRunId]);
  });

  test("Restart: a failed run set to bare Scheduled with a message is queued again", async () => {
    const { tenantId, flowRunId, taskRunIds } = await newRun();
    await setFlowRunState(h, flowRunId, "Running");
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunIds[0], state: { type: "Failed", message: "boom" } }] } });
    await setFlowRunState(h, flowRunId, "Failed");
    const since = Date.now();
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunIds[0], version: 3, state: { type: "Pending", message: "restart" } }] } });
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, version: 3, state: { type: "Scheduled", message: "restart" } }] } });
    await expectStartedNow("flow_run", flowRunId, "Scheduled", since);
    expect(await queue(tenantId)).toEqual([flowRunId]);
  });

  test("Approve: a bare Resume on a Paused task run starts now and puts its Running flow run back in the queue", async () => {
    const { tenantId, flowRunId, taskRunIds } = await newRun();
    await setFlowRunState(h, flowRunId, "Running");
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunIds[0], state: { type: "Paused", message: "approval needed" } }] } });
    const paused = await stored("task_run", taskRunIds[0]);
    expect(paused.run.state_start_time).toBeNull();
    expect(paused.run.serialized_state).toEqual({ type: "Paused", message: "approval needed" });
    expect(await queue(tenantId)).toEqual([]);
    const since = Date.now();
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunIds[0], version: 2, state: { type: "Resume", message: "approved" } }] } });
    await expectStartedNow("task_run", taskRunIds[0], "Resume", since);
    expect(await queue(tenantId)).toEqual([flowRunId]);
  });

  test("a batch of flow-run states: each bare scheduled-family state gets the same start time", async () => {
    const runs = [await newRun([]), await newRun([]), await newRun([])];
    const since = Date.now();
    const types = ["Scheduled", "Retrying", "Queued"];
    await h.ok(SET_FLOW_RUN_STATES, {
      input: { states: runs.map((run, index) => ({ flow_run_id: run.flowRunId, state: { type: types[index] } })) },
    });
    const stateOf = await Promise.all(runs.map((run, index) => expectStartedNow("flow_run", run.flowRunId, types[index]!, since)));
    expect(new Set(stateOf.map((s) => s.start_time)).size).toBe(1);
    expect(stateOf[1]!.run_count).toBe(1);
    for (const run of runs) expect(await queue(run.tenantId)).toEqual([run.flowRunId]);
  });

  test("task-run states alone, coalesced with others and in a large batch all get their defaults", async () => {
    const { flowRunId, taskRunIds } = await newRun(Array.from({ length: SHARED_STATEMENT_MAX_ITEMS + 4 }, (_, i) => task(`t${i}`)));
    await setFlowRunState(h, flowRunId, "Running");
    const since = Date.now();
    // four requests in one tick: the first goes alone, the other three share a statement
    await Promise.all(taskRunIds.slice(0, 4).map((id) => setTaskRunStates(h.db, [{ task_run_id: id, state: { type: "Retrying" } }])));
    // a batch large enough for a statement of its own
    const large = taskRunIds.slice(4);
    expect(large.length).toBeGreaterThanOrEqual(SHARED_STATEMENT_MAX_ITEMS);
    await setTaskRunStates(h.db, large.map((id) => ({ task_run_id: id, state: { type: "Looped", message: "again" } })));
    for (const id of taskRunIds.slice(0, 4)) {
      expect(await expectStartedNow("task_run", id, "Retrying", since)).toMatchObject({ type: "Retrying", run_count: 1 });
    }
    for (const id of large) {
      const { run, row } = await stored("task_run", id);
      expect(run.state_start_time).toBeNull();
      expect(row.serialized_state).toEqual({ type: "Looped", message: "again", loop_count: 1 });
    }
  });

  test("Paused stays without a start time and keeps its run out of the queue; a timed Paused is kept", async () => {
    const { tenantId, flowRunId } = await newRun([]);
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: { type: "Paused" } }] } });
    expect((await stored("flow_run", flowRunId)).run.state_start_time).toBeNull();
    expect(await queue(tenantId)).toEqual([]);
    const past = "2020-01-01T00:00:00+00:00";
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: { type: "Paused", start_time: past } }] } });
    expect((await stored("flow_run", flowRunId)).run.state_start_time.toISOString()).toBe("2020-01-01T00:00:00.000Z");
    expect(await queue(tenantId)).toEqual([flowRunId]);
  });
});
