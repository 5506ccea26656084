// Setting states: acceptance checks 10–15, 18, 19, plus the batch and tenant guarantees we add (the concurrency
// guarantees are in concurrency.test.ts).
import { describe, expect, test } from "vitest";
import { setFlowRunStates } from "../../services/domain/src/states.ts";
import {
  SET_FLOW_RUN_STATES,
  SET_TASK_RUN_STATES,
  createFlowRun,
  setFlowRunState,
  setTaskRunState,
  setupFlow,
  state,
  task,
  useMutations,
} from "./helpers.ts";

const h = useMutations();
const run = async (id: string) => (await h.db.query("SELECT * FROM flow_run WHERE id = $1", [id])).rows[0];
const taskRuns = async (flowRunId: string) =>
  (await h.db.query("SELECT tr.*, t.slug FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE flow_run_id = $1 ORDER BY t.slug", [flowRunId])).rows;

async function newRun(tasks = [task("a"), task("b"), task("c")]) {
  const setup = await setupFlow(h, { tasks });
  return { ...setup, flowRunId: await createFlowRun(h, { flow_id: setup.flowId }) };
}

describe("flow run states", () => {
  test("check 10: Running sets version, heartbeat and start_time; Success sets end_time; TriggerFailed sets neither", async () => {
    const { flowRunId } = await newRun([]);
    const before = new Date();
    await setFlowRunState(h, flowRunId, "Running");
    const running = await run(flowRunId);
    expect(running.version).toBe(2);
    expect(running.heartbeat.getTime()).toBeGreaterThanOrEqual(before.getTime());
    expect(running.start_time.getTime()).toBe(running.state_timestamp.getTime());
    expect(running.end_time).toBeNull();
    await setFlowRunState(h, flowRunId, "Success");
    expect((await run(flowRunId)).end_time).not.toBeNull();
    const other = await newRun([]);
    await setFlowRunState(h, other.flowRunId, "TriggerFailed");
    const failed = await run(other.flowRunId);
    expect(failed.start_time).toBeNull();
    expect(failed.end_time).toBeNull();
  });

  test("check 11: only running and Submitted states set the heartbeat", async () => {
    for (const type of ["Pending", "Success", "Failed", "Paused", "Scheduled"]) {
      const { flowRunId } = await newRun([]);
      await setFlowRunState(h, flowRunId, type);
      expect({ type, heartbeat: (await run(flowRunId)).heartbeat }).toEqual({ type, heartbeat: null });
    }
    for (const type of ["Running", "Cancelling", "Submitted"]) {
      const { flowRunId } = await newRun([]);
      await setFlowRunState(h, flowRunId, type);
      expect((await run(flowRunId)).heartbeat).not.toBeNull();
    }
  });

  test("check 12: a second Submitted within 30 s is refused, also after the run moved on", async () => {
    const { flowRunId } = await newRun([]);
    await setFlowRunState(h, flowRunId, "Submitted");
    const input = { input: { states: [{ flow_run_id: flowRunId, state: state("Submitted") }] } };
    expect(await h.error(SET_FLOW_RUN_STATES, input)).toBe("State update failed: this run has already been submitted.");
    await setFlowRunState(h, flowRunId, "Running");
    expect(await h.error(SET_FLOW_RUN_STATES, input)).toBe("State update failed: this run has already been submitted.");
    await h.db.query("UPDATE flow_run_state SET timestamp = timestamp - interval '31 seconds' WHERE flow_run_id = $1", [flowRunId]);
    await h.db.query("UPDATE flow_run SET state_timestamp = state_timestamp - interval '31 seconds' WHERE id = $1", [flowRunId]);
    await setFlowRunState(h, flowRunId, "Submitted");
    expect((await run(flowRunId)).state).toBe("Submitted");
  });

  test("a run queued again after its Submitted (a Restart) may be submitted again within the 30 s", async () => {
    const { flowRunId } = await newRun([]);
    const input = { input: { states: [{ flow_run_id: flowRunId, state: state("Submitted") }] } };
    await setFlowRunState(h, flowRunId, "Submitted");
    await setFlowRunState(h, flowRunId, "Running");
    await setFlowRunState(h, flowRunId, "Failed");
    expect(await h.error(SET_FLOW_RUN_STATES, input)).toBe("State update failed: this run has already been submitted.");
    await setFlowRunState(h, flowRunId, "Scheduled");
    await h.ok(SET_FLOW_RUN_STATES, input);
    expect((await run(flowRunId)).state).toBe("Submitted");
    // and that new submission holds its own lock
    await setFlowRunState(h, flowRunId, "Running");
    expect(await h.error(SET_FLOW_RUN_STATES, input)).toBe("State update failed: this run has already been submitted.");
  });

  test("Submitted records the agent of X-PREFECT-AGENT-ID when it exists", async () => {
    const { flowRunId, tenantId } = await newRun([]);
    const agent = await h.ok(`mutation($t: UUID) { register_agent(input: {tenant_id: $t, type: "LocalAgent"}) { id } }`, { t: tenantId });
    await setFlowRunState(h, flowRunId, "Submitted", {}, { "x-prefect-agent-id": agent.register_agent.id });
    expect((await run(flowRunId)).agent_id).toBe(agent.register_agent.id);
    const other = await newRun([]);
    await setFlowRunState(h, other.flowRunId, "Submitted", {}, { "x-prefect-agent-id": "00000000-0000-4000-8000-000000000000" });
    expect((await run(other.flowRunId)).agent_id).toBeNull();
  });

  test("check 14: Cancelled cascades to unfinished task runs", async () => {
    const { flowRunId } = await newRun();
    await setFlowRunState(h, flowRunId, "Running");
    const [a, b] = await taskRuns(flowRunId);
    await setTaskRunState(h, a.id, "Running");
    await setTaskRunState(h, b.id, "Success");
    await setFlowRunState(h, flowRunId, "Cancelled");
    const after = await taskRuns(flowRunId);
    expect(after.map((taskRun) => taskRun.state)).toEqual(["Cancelled", "Success", "Cancelled"]);
    expect(after[0].version).toBe(3);
    expect(after[0].tenant_id).not.toBeNull();
  });

  test("check 15: cancel_flow_run", async () => {
    const CANCEL = `mutation($id: UUID!) { cancel_flow_run(input: {flow_run_id: $id}) { state } }`;
    const running = await newRun([]);
    await setFlowRunState(h, running.flowRunId, "Running");
    expect((await h.ok(CANCEL, { id: running.flowRunId })).cancel_flow_run.state).toBe("Cancelling");
    expect(await run(running.flowRunId)).toMatchObject({ state: "Cancelling", version: 3 });
    const submitted = await newRun([]);
    await setFlowRunState(h, submitted.flowRunId, "Submitted");
    expect((await h.ok(CANCEL, { id: submitted.flowRunId })).cancel_flow_run.state).toBe("Cancelled");
    expect(await run(submitted.flowRunId)).toMatchObject({ state: "Cancelled", version: 3 });
    const done = await newRun([]);
    await setFlowRunState(h, done.flowRunId, "Success");
    expect((await h.ok(CANCEL, { id: done.flowRunId })).cancel_flow_run.state).toBe("Success");
    expect((await run(done.flowRunId)).version).toBe(2);
    const fake = "00000000-0000-4000-8000-000000000000";
    expect(await h.error(CANCEL, { id: fake })).toBe(`Invalid flow run ID: ${fake}.`);
  });

  test("check 18: batches set every item; an unknown id nulls the field and writes nothing", async () => {
    const ids = [(await newRun([])).flowRunId, (await newRun([])).flowRunId, (await newRun([])).flowRunId];
    await setFlowRunState(h, ids[1]!, "Pending");
    await setFlowRunState(h, ids[2]!, "Pending");
    // another Pending (the same one again would be taken as a resend: "retried writes" below)
    await setFlowRunState(h, ids[2]!, "Pending", { message: "still pending" });
    const data = await h.ok(SET_FLOW_RUN_STATES, { input: { states: ids.map((id) => ({ flow_run_id: id, version: 1, state: state("Running") })) } });
    expect(data.set_flow_run_states.states).toEqual(ids.map((id) => ({ id, status: "SUCCESS", message: null })));
    expect(await Promise.all(ids.map(async (id) => (await run(id)).version))).toEqual([2, 3, 4]);
    const fake = "00000000-0000-4000-8000-000000000000";
    const result = await h.gql(SET_FLOW_RUN_STATES, {
      input: { states: [{ flow_run_id: ids[0], state: state("Success") }, { flow_run_id: fake, state: state("Success") }] },
    });
    expect(result.data).toEqual({ set_flow_run_states: null });
    expect(result.errors![0]!.message).toBe(`State update failed for flow run ID ${fake}`);
    expect((await run(ids[0]!)).state).toBe("Running");
  });

  test("check 19: a state over ~1 MB is refused", async () => {
    const { flowRunId } = await newRun([]);
    const big = state("Running", { context: { blob: "x".repeat(1_000_000) } });
    expect(await h.error(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: big }] } })).toBe("State payload is too large.");
  });

  test("an unknown state type is refused", async () => {
    const { flowRunId } = await newRun([]);
    const message = await h.error(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: { type: "Nope" } }] } });
    expect(message).toContain("unknown state type");
  });

  test("state rows carry the run's tenant", async () => {
    const { flowRunId, tenantId } = await newRun([]);
    await setFlowRunState(h, flowRunId, "Running");
    const { rows } = await h.db.query("SELECT DISTINCT tenant_id FROM flow_run_state WHERE flow_run_id = $1", [flowRunId]);
    expect(rows).toEqual([{ tenant_id: tenantId }]);
  });
});

describe("task run states", () => {
  test("check 13: a running task state needs a Running flow run", async () => {
    for (const flowState of ["Scheduled", "Pending", "Failed", "Success"]) {
      const { flowRunId } = await newRun([task("a")]);
      if (flowState !== "Scheduled") await setFlowRunState(h, flowRunId, flowState);
      const [taskRun] = await taskRuns(flowRunId);
      const message = await h.error(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRun.id, state: state("Running") }] } });
      expect(message).toBe(
        `State update failed for task run ID ${taskRun.id}: provided a running state but associated flow run ${flowRunId} is not in a running state.`,
      );
      expect((await taskRuns(flowRunId))[0].state).toBe("Pending");
    }
    const { flowRunId } = await newRun([task("a")]);
    await setFlowRunState(h, flowRunId, "Running");
    const [taskRun] = await taskRuns(flowRunId);
    const data = await setTaskRunState(h, taskRun.id, "Running");
    expect(data.set_task_run_states.states).toEqual([{ id: taskRun.id, status: "SUCCESS", message: null }]);
    const after = (await taskRuns(flowRunId))[0];
    expect(after).toMatchObject({ state: "Running", version: 2 });
    expect(after.heartbeat).not.toBeNull();
  });

  test("cached inputs of the current state are carried into a new state without them", async () => {
    const { flowRunId } = await newRun([task("a")]);
    await setFlowRunState(h, flowRunId, "Running");
    const [taskRun] = await taskRuns(flowRunId);
    const cached = { x: { type: "PrefectResult", location: "1" } };
    await setTaskRunState(h, taskRun.id, "Retrying", { cached_inputs: cached, start_time: new Date().toISOString() });
    await setTaskRunState(h, taskRun.id, "Running", { cached_inputs: null });
    expect((await taskRuns(flowRunId))[0].serialized_state.cached_inputs).toEqual(cached);
  });

  test("an unknown task run fails the batch", async () => {
    const fake = "00000000-0000-4000-8000-000000000000";
    const message = await h.error(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: fake, state: state("Success") }] } });
    expect(message).toBe(`State update failed for task run ID ${fake}`);
  });
});

// docs/operations.md, "Retried writes": a client that lost the answer to a state write sends it again (Prefect Core:
// up to six times over about a minute); the resend gets the first answer and writes nothing.
describe("retried writes", () => {
  const count = async (table: "flow_run_state" | "task_run_state", column: string, id: string) =>
    (await h.db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id])).rows[0].n;

  test("a flow-run state sent again is answered as the first time and stored once; another state is stored", async () => {
    const { flowRunId } = await newRun([]);
    const input = { input: { states: [{ flow_run_id: flowRunId, version: 1, state: state("Running", { message: "Running flow." }) }] } };
    const first = await h.ok(SET_FLOW_RUN_STATES, input);
    expect(await h.ok(SET_FLOW_RUN_STATES, input)).toEqual(first);
    expect(await h.ok(SET_FLOW_RUN_STATES, input)).toEqual(first);
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(2);
    expect((await run(flowRunId)).version).toBe(2);
    await setFlowRunState(h, flowRunId, "Success");
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(3);
  });

  test("what is not a resend: another version, a state older than the window, a later item of the same run", async () => {
    const { flowRunId } = await newRun([]);
    const running = (version: number | null) => ({ flow_run_id: flowRunId, version, state: state("Running") });
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [running(1)] } });
    // the run is at version 2 now: a client that saw version 2 is not resending the write it made at version 1
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [running(2)] } });
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(3);
    await h.db.query("UPDATE flow_run SET state_timestamp = now() - interval '121 seconds' WHERE id = $1", [flowRunId]);
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [running(null)] } });
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(4);
    // one batch naming the run twice: only its first item can be a resend
    await h.ok(SET_FLOW_RUN_STATES, { input: { states: [running(null), running(null)] } });
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(5);
  });

  test("with a window of 0 (services.mutations.resent_state_window_seconds) every write is stored", async () => {
    const { flowRunId } = await newRun([]);
    const items = [{ flow_run_id: flowRunId, state: state("Running") }];
    await setFlowRunStates(h.db, items, null, 0);
    await setFlowRunStates(h.db, items, null, 0);
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(3);
    expect(h.config.services.mutations.resent_state_window_seconds).toBe(120);
  });

  test("a bare state the server gave a start time is the same state when sent again", async () => {
    const { flowRunId } = await newRun([]);
    const input = { input: { states: [{ flow_run_id: flowRunId, state: { type: "Scheduled", message: "again" } }] } };
    await h.ok(SET_FLOW_RUN_STATES, input);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await h.ok(SET_FLOW_RUN_STATES, input);
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(2);
  });

  test("Submitted: the agent that submitted the run may send it again; another agent, or none, is refused", async () => {
    const { flowRunId, tenantId } = await newRun([]);
    const REGISTER = `mutation($t: UUID, $name: String) { register_agent(input: {tenant_id: $t, type: "LocalAgent", name: $name}) { id } }`;
    const [a, b] = [(await h.ok(REGISTER, { t: tenantId, name: "a" })).register_agent.id, (await h.ok(REGISTER, { t: tenantId, name: "b" })).register_agent.id];
    const input = { input: { states: [{ flow_run_id: flowRunId, version: 1, state: state("Submitted", { message: "Submitted for execution" }) }] } };
    const first = await h.ok(SET_FLOW_RUN_STATES, input, { "X-PREFECT-AGENT-ID": a });
    expect(await h.ok(SET_FLOW_RUN_STATES, input, { "X-PREFECT-AGENT-ID": a })).toEqual(first);
    expect(await h.error(SET_FLOW_RUN_STATES, input, { "X-PREFECT-AGENT-ID": b })).toBe("State update failed: this run has already been submitted.");
    expect(await h.error(SET_FLOW_RUN_STATES, input)).toBe("State update failed: this run has already been submitted.");
    expect(await count("flow_run_state", "flow_run_id", flowRunId)).toBe(2);
  });

  test("a task-run state sent again (alone or in a coalesced statement) is stored once, with its cached inputs", async () => {
    const { flowRunId } = await newRun([task("a")]);
    await setFlowRunState(h, flowRunId, "Running");
    const [taskRun] = await taskRuns(flowRunId);
    const inputs = { x: { type: "SafeResult", value: 1 } };
    await setTaskRunState(h, taskRun.id, "Pending", { cached_inputs: inputs });
    const running = { input: { states: [{ task_run_id: taskRun.id, version: 2, state: state("Running", { message: "Starting task run." }) }] } };
    await h.ok(SET_TASK_RUN_STATES, running);
    // the stored Running carries the Pending's cached inputs; the resend (without them) is still the same state
    const answers = await Promise.all([h.ok(SET_TASK_RUN_STATES, running), h.ok(SET_TASK_RUN_STATES, running)]);
    expect(answers).toEqual([answers[0], answers[0]]);
    const rows = (await h.db.query("SELECT version, state, serialized_state FROM task_run_state WHERE task_run_id = $1 ORDER BY version", [taskRun.id])).rows;
    expect(rows.map((row) => [row.version, row.state])).toEqual([[1, "Pending"], [2, "Pending"], [3, "Running"]]);
    expect(rows[2].serialized_state.cached_inputs).toEqual(inputs);
  });
});

describe("many states of one run in one request", () => {
  test("a batch of 2,000 states for one task run is written in order, the run ending with the last", async () => {
    const { flowRunId } = await newRun([task("a")]);
    await setFlowRunState(h, flowRunId, "Running");
    const [taskRun] = await taskRuns(flowRunId);
    const states = Array.from({ length: 2000 }, (_, i) => ({ task_run_id: taskRun.id, state: state(i % 2 ? "Running" : "Retrying", { message: `step ${i}` }) }));
    await h.ok(SET_TASK_RUN_STATES, { input: { states } });
    const after = (await h.db.query("SELECT version, state, state_message FROM task_run WHERE id = $1", [taskRun.id])).rows[0];
    expect(after).toEqual({ version: 2001, state: "Running", state_message: "step 1999" });
    const versions = (await h.db.query("SELECT version FROM task_run_state WHERE task_run_id = $1 ORDER BY timestamp, version", [taskRun.id])).rows.map((row) => row.version);
    expect(versions).toEqual(Array.from({ length: 2001 }, (_, i) => i + 1));
  });
});

test("a request over MAX_STATES_PER_REQUEST is refused whole, in our words", async () => {
  const { flowRunId } = await newRun([task("a")]);
  const [taskRun] = await taskRuns(flowRunId);
  const states = Array.from({ length: 10_001 }, () => ({ task_run_id: taskRun.id, state: { type: "Pending" } }));
  expect(await h.error(SET_TASK_RUN_STATES, { input: { states } })).toBe("A request may set at most 10000 states; this one sets 10001. Send them in several requests.");
  expect((await h.db.query("SELECT count(*)::int AS n FROM task_run_state WHERE task_run_id = $1", [taskRun.id])).rows[0].n).toBe(1);
});
