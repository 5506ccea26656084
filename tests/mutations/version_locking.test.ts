// Version locking (beyond v1, as Prefect Cloud had it; docs/version-locking.md): enable_flow_version_lock and
// disable_flow_version_lock store flow_group.settings.version_locking_enabled; with it on, a state write that carries
// a version other than the run's current one is refused with extensions.code VERSION_LOCKING_ERROR (Core's
// VersionLockMismatchSignal), for flow runs and task runs, alone, in a batch and in a coalesced statement, where a
// refused request does not take the others with it. With it off, v1's behaviour: versions are ignored.
import { describe, expect, test } from "vitest";
import { SET_FLOW_RUN_STATES, SET_TASK_RUN_STATES, createFlowRun, setFlowRunState, setupFlow, state, task, useMutations } from "./helpers.ts";

const h = useMutations();
const ENABLE = "mutation($input: enable_flow_version_lock_input!) { enable_flow_version_lock(input: $input) { success error } }";
const DISABLE = "mutation($input: disable_flow_version_lock_input!) { disable_flow_version_lock(input: $input) { success error } }";

async function lockedRun(tasks = [task("a")]) {
  const { flowId } = await setupFlow(h, { tasks });
  expect((await h.ok(ENABLE, { input: { flow_id: flowId } })).enable_flow_version_lock).toEqual({ success: true, error: null });
  const flowRunId = await createFlowRun(h, { flow_id: flowId });
  const taskRunIds = (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1 ORDER BY id", [flowRunId])).rows.map((row) => row.id as string);
  return { flowId, flowRunId, taskRunIds };
}
const version = async (table: "flow_run" | "task_run", id: string) => (await h.db.query(`SELECT version FROM ${table} WHERE id = $1`, [id])).rows[0].version as number;

describe("enable_flow_version_lock / disable_flow_version_lock", () => {
  test("store version_locking_enabled in the flow group's settings, beside the other settings; unknown flow → error", async () => {
    const { flowId } = await setupFlow(h);
    await h.ok(ENABLE, { input: { flow_id: flowId } });
    const settings = async () => (await h.db.query("SELECT fg.settings FROM flow f JOIN flow_group fg ON fg.id = f.flow_group_id WHERE f.id = $1", [flowId])).rows[0].settings;
    expect(await settings()).toMatchObject({ version_locking_enabled: true });
    expect((await h.ok(DISABLE, { input: { flow_id: flowId } })).disable_flow_version_lock.success).toBe(true);
    expect(await settings()).toMatchObject({ version_locking_enabled: false });
    expect(await h.error(ENABLE, { input: { flow_id: "00000000-0000-4000-8000-000000000000" } })).toBe("Invalid flow ID.");
  });
});

describe("with version locking on", () => {
  test("a flow-run running state with a stale version is refused with VERSION_LOCKING_ERROR; the current version passes", async () => {
    const { flowRunId } = await lockedRun([]);
    const at = await version("flow_run", flowRunId);
    const write = (v: number | null, type = "Running") => h.gql(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, version: v, state: state(type) }] } });
    expect((await write(at)).errors).toBeUndefined();
    const stale = await write(at);
    expect(stale.data).toEqual({ set_flow_run_states: null });
    expect(stale.errors![0]!.extensions!.code).toBe("VERSION_LOCKING_ERROR");
    expect(stale.errors![0]!.message).toBe(`State update failed for flow run ID ${flowRunId}: version ${at} was given, but the run is at version ${at + 1} (version locking is on for its flow).`);
    expect(await version("flow_run", flowRunId)).toBe(at + 1);
    // a state sent without a version (Core sends none with a finished state) is not checked
    expect((await write(null, "Success")).errors).toBeUndefined();
  });

  test("task runs: two runners racing with the same version in one coalesced statement: one wins, the other alone is refused", async () => {
    const { flowRunId, taskRunIds } = await lockedRun([task("a"), task("b")]);
    await setFlowRunState(h, flowRunId, "Running");
    const [a, b] = taskRunIds as [string, string];
    const at = await version("task_run", a);
    const running = (id: string, v: number) => h.gql(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: id, version: v, state: state("Running", { message: "Starting task run." }) }] } });
    const [first, second, other] = await Promise.all([running(a, at), running(a, at), running(b, await version("task_run", b))]);
    const outcomes = [first, second].map((result) => result.errors?.[0]?.extensions?.code ?? "ok").sort();
    expect(outcomes).toEqual(["VERSION_LOCKING_ERROR", "ok"]);
    expect(other.errors).toBeUndefined();
    expect(await version("task_run", a)).toBe(at + 1);
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_run_state WHERE task_run_id = $1 AND state = 'Running'", [a])).rows[0].n).toBe(1);
  });

  test("in one batch, the items of a run are checked one after the other; a refused item refuses the batch", async () => {
    const { flowRunId, taskRunIds } = await lockedRun();
    await setFlowRunState(h, flowRunId, "Running");
    const [a] = taskRunIds as [string];
    const at = await version("task_run", a);
    const item = (v: number, type: string) => ({ task_run_id: a, version: v, state: state(type) });
    expect((await h.gql(SET_TASK_RUN_STATES, { input: { states: [item(at, "Running"), item(at + 1, "Running")] } })).errors).toBeUndefined();
    const refused = await h.gql(SET_TASK_RUN_STATES, { input: { states: [item(at + 2, "Running"), item(at + 2, "Running")] } });
    expect(refused.errors![0]!.extensions!.code).toBe("VERSION_LOCKING_ERROR");
    expect(await version("task_run", a)).toBe(at + 2);
  });

  test("a running state sent again with its old version is refused, not taken for a resend (it could be a second runner)", async () => {
    const { flowRunId } = await lockedRun([]);
    const at = await version("flow_run", flowRunId);
    const input = { input: { states: [{ flow_run_id: flowRunId, version: at, state: state("Running") }] } };
    expect((await h.gql(SET_FLOW_RUN_STATES, input)).errors).toBeUndefined();
    expect((await h.gql(SET_FLOW_RUN_STATES, input)).errors![0]!.extensions!.code).toBe("VERSION_LOCKING_ERROR");
    // a state without a version sent again is still recognised
    const done = { input: { states: [{ flow_run_id: flowRunId, state: state("Success") }] } };
    expect(await h.ok(SET_FLOW_RUN_STATES, done)).toEqual(await h.ok(SET_FLOW_RUN_STATES, done));
    expect((await h.db.query("SELECT count(*)::int AS n FROM flow_run_state WHERE flow_run_id = $1", [flowRunId])).rows[0].n).toBe(3);
  });
});

test("with version locking off (the default, v1's behaviour) a stale version is accepted", async () => {
  const { flowId } = await setupFlow(h);
  const flowRunId = await createFlowRun(h, { flow_id: flowId });
  const write = () => h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, version: 0, state: state("Running", { message: `${Math.random()}` }) }] } });
  await write();
  await write();
  expect(await version("flow_run", flowRunId)).toBe(3);
});
