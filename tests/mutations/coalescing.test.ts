// Concurrent set_task_run_states requests share statements (services/domain/src/coalescer.ts): while
// TASK_RUN_STATE_STATEMENTS statements are in flight, later requests wait and the next statement carries them all.
// Each request must still get exactly what it would have got alone. The bursts call the API on the pool, all in one
// tick, so which requests share a statement is deterministic: the first TASK_RUN_STATE_STATEMENTS go alone, the
// rest together; the statements are counted with a spy on the pool's query.
import { afterEach, describe, expect, test, vi } from "vitest";
import { withTransaction } from "../../services/shared/src/database/pool.ts";
import { SHARED_STATEMENT_MAX_ITEMS, setTaskRunStates, TASK_RUN_STATE_STATEMENTS } from "../../services/domain/src/states.ts";
import { SET_TASK_RUN_STATES, createFlowRun, setFlowRunState, setupFlow, state, task, useMutations } from "./helpers.ts";

const h = useMutations();

afterEach(() => {
  vi.restoreAllMocks();
});

/** Counts the set_task_run_states statements sent on the pool from now on. */
function countStatements(): () => number {
  const spy = vi.spyOn(h.db, "query");
  return () => spy.mock.calls.filter(([query]) => (query as { name?: string }).name === "mutations.set_task_run_states").length;
}

/** The task runs of a new flow run with `count` tasks, the flow run moved to `flowState` (or left Scheduled). */
async function newTaskRuns(count: number, flowState: string | null = "Running"): Promise<string[]> {
  const { flowId } = await setupFlow(h, { tasks: Array.from({ length: count }, (_, index) => task(`t${index}`)) });
  const flowRunId = await createFlowRun(h, { flow_id: flowId });
  if (flowState) await setFlowRunState(h, flowRunId, flowState);
  return (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1 ORDER BY id", [flowRunId])).rows.map((row) => row.id);
}

const stateRows = async (taskRunId: string) =>
  (await h.db.query("SELECT version, message, serialized_state FROM task_run_state WHERE task_run_id = $1 ORDER BY version", [taskRunId])).rows;

const oneState = (taskRunId: string, type = "Running", extra: Record<string, unknown> = {}) =>
  setTaskRunStates(h.db, [{ task_run_id: taskRunId, state: state(type, extra) }]);

const success = (taskRunId: string) => [{ id: taskRunId, status: "SUCCESS", message: null }];

describe("coalesced set_task_run_states", () => {
  test("a lone request is sent at once, in a statement of its own", async () => {
    const [taskRunId] = await newTaskRuns(1);
    const statements = countStatements();
    const pending = oneState(taskRunId!);
    expect(statements()).toBe(1); // sent synchronously: no timer, no batching window
    expect(await pending).toEqual(success(taskRunId!));
    expect((await stateRows(taskRunId!)).map((row) => row.version)).toEqual([1, 2]);
  });

  test("a request of SHARED_STATEMENT_MAX_ITEMS items or more is sent at once, beside the shared statements", async () => {
    const taskRuns = await newTaskRuns(SHARED_STATEMENT_MAX_ITEMS + 3);
    const singles = taskRuns.slice(0, 3);
    const batch = taskRuns.slice(3);
    const statements = countStatements();
    const pending = [
      ...singles.map((id) => oneState(id)),
      setTaskRunStates(h.db, batch.map((id) => ({ task_run_id: id, state: state("Running") }))),
    ];
    // the first single is in flight, the other two wait for the next shared statement; the batch went out at once
    expect(statements()).toBe(TASK_RUN_STATE_STATEMENTS + 1);
    const results = await Promise.all(pending);
    expect(results.at(-1)).toEqual(batch.map((id) => success(id)[0]));
    expect(statements()).toBe(TASK_RUN_STATE_STATEMENTS + 2);
    for (const id of taskRuns) expect((await stateRows(id)).map((row) => row.version)).toEqual([1, 2]);
  });

  test("50 concurrent requests on one task run and on 25 others share statements; every state kept, versions 1..n", async () => {
    const [contested, ...others] = await newTaskRuns(26);
    const targets = [...Array.from({ length: 25 }, () => contested!), ...others];
    const statements = countStatements();
    const results = await Promise.all(targets.map((id, index) => oneState(id, "Running", { message: `request ${index}` })));
    expect(statements()).toBe(TASK_RUN_STATE_STATEMENTS + 1);
    results.forEach((result, index) => expect(result).toEqual(success(targets[index]!)));

    const rows = await stateRows(contested!);
    expect(rows.map((row) => row.version)).toEqual(Array.from({ length: 26 }, (_, index) => index + 1));
    expect(rows.slice(1).map((row) => row.message).sort()).toEqual(Array.from({ length: 25 }, (_, index) => `request ${index}`).sort());
    const current = (await h.db.query("SELECT version, state_message FROM task_run WHERE id = $1", [contested])).rows[0];
    expect(current).toEqual({ version: 26, state_message: rows.at(-1).message });
    for (const [index, id] of others.entries()) {
      expect((await stateRows(id)).map((row) => [row.version, row.message])).toEqual([[1, "Task run created"], [2, `request ${index + 25}`]]);
    }
  });

  test("a mixed burst: exactly the failing requests fail, with v1's error, and write nothing; no version gaps", async () => {
    const [contested, ...others] = await newTaskRuns(6);
    const [pending] = await newTaskRuns(1, null); // its flow run is Scheduled
    const unknown = "00000000-0000-4000-8000-000000000000";
    const { flow_run_id: scheduled } = (await h.db.query("SELECT flow_run_id FROM task_run WHERE id = $1", [pending])).rows[0];
    const notRunning = `State update failed for task run ID ${pending}: provided a running state but associated flow run ${scheduled} is not in a running state.`;
    const requests: { items: { task_run_id: string; state: unknown }[]; error?: string }[] = [
      ...others.map((id) => ({ items: [{ task_run_id: id, state: state("Running") }] })),
      { items: [{ task_run_id: contested!, state: state("Success") }, { task_run_id: unknown, state: state("Success") }], error: `State update failed for task run ID ${unknown}` },
      { items: [{ task_run_id: contested!, state: state("Running") }] },
      { items: [{ task_run_id: pending!, state: state("Running") }], error: notRunning },
      { items: [{ task_run_id: contested!, state: state("Running") }, { task_run_id: pending!, state: state("Running") }], error: notRunning },
      { items: [{ task_run_id: contested!, state: state("Success") }, { task_run_id: others[0]!, state: state("Success") }] },
      { items: [{ task_run_id: pending!, state: state("Pending") }] },
    ];
    const statements = countStatements();
    const outcomes = await Promise.allSettled(requests.map((request) => setTaskRunStates(h.db, request.items)));
    expect(statements()).toBe(TASK_RUN_STATE_STATEMENTS + 1);
    outcomes.forEach((outcome, index) => {
      const { items, error } = requests[index]!;
      if (error === undefined) expect(outcome).toEqual({ status: "fulfilled", value: items.flatMap((item) => success(item.task_run_id)) });
      else expect(outcome.status === "rejected" && (outcome.reason as Error).message).toBe(error);
    });

    // the contested run got the states of the two successful requests only, versions without a gap
    expect((await stateRows(contested!)).map((row) => [row.version, row.message])).toEqual([
      [1, "Task run created"],
      [2, "Running state"],
      [3, "Success state"],
    ]);
    expect((await stateRows(others[0]!)).map((row) => row.version)).toEqual([1, 2, 3]);
    expect((await stateRows(pending!)).map((row) => [row.version, row.message])).toEqual([[1, "Task run created"], [2, "Pending state"]]);
    const { rows } = await h.db.query("SELECT count(*)::int AS n FROM task_run_state WHERE task_run_id = ANY($1)", [[contested, ...others, pending]]);
    expect(rows[0].n).toBe(3 + 3 + 4 * 2 + 2);
  });

  test("requests sharing a statement carry cached inputs as if sent one after another", async () => {
    const [first, second, target] = await newTaskRuns(3);
    const inputs = (location: string) => ({ x: { type: "PrefectResult", location } });
    await oneState(target!, "Retrying", { cached_inputs: inputs("0") });
    const statements = countStatements();
    await Promise.all([
      oneState(first!),
      oneState(second!),
      // (at most TASK_RUN_STATE_STATEMENTS = 1 or 2 go alone) these wait for a free statement, and share it
      oneState(target!, "Retrying", { cached_inputs: inputs("1") }),
      oneState(target!, "Running", { cached_inputs: null }),
      oneState(target!, "Retrying", { cached_inputs: inputs("2") }),
      oneState(target!, "Running", { cached_inputs: {} }),
    ]);
    expect(statements()).toBe(TASK_RUN_STATE_STATEMENTS + 1);
    const rows = await stateRows(target!);
    expect(rows.slice(1).map((row) => [row.version, row.serialized_state.cached_inputs])).toEqual([
      [2, inputs("0")],
      [3, inputs("1")],
      [4, inputs("1")],
      [5, inputs("2")],
      [6, inputs("2")],
    ]);
  });

  test("a shared statement that fails in Postgres is retried request by request: only the bad request fails", async () => {
    const [a, b, c, d] = await newTaskRuns(4);
    const nul = { message: "a NUL \u0000 jsonb refuses" };
    const alone = await oneState(a!, "Running", nul).then(
      () => undefined,
      (error: unknown) => error as Error & { code?: string },
    );
    expect(alone?.code).toBe("22P05");

    const statements = countStatements();
    const requests = [() => oneState(a!), () => oneState(b!), () => oneState(c!), () => oneState(d!, "Running", nul), () => oneState(b!, "Success")];
    const outcomes = await Promise.allSettled(requests.map((request) => request()));
    // the shared statement that failed, and one statement per request (the first ones alone, the others retried alone)
    expect(statements()).toBe(1 + requests.length);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const failure = (outcomes[3] as PromiseRejectedResult).reason as Error & { code?: string };
    expect({ message: failure.message, code: failure.code }).toEqual({ message: alone!.message, code: alone!.code });
    const bRows = await stateRows(b!);
    expect(bRows.map((row) => row.version)).toEqual([1, 2, 3]);
    expect(bRows.map((row) => row.message).sort()).toEqual(["Running state", "Success state", "Task run created"]);
    expect((await stateRows(d!)).map((row) => row.version)).toEqual([1]);
  });

  test("through GraphQL, concurrent requests get their own answers", async () => {
    const [good, other] = await newTaskRuns(2);
    const unknown = "00000000-0000-4000-8000-000000000000";
    const send = (taskRunId: string, extra: Record<string, unknown> = {}) =>
      h.gql(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunId, state: state("Running", extra) }] } });
    const [first, second, missing, nul, last] = await Promise.all([
      send(good!),
      send(other!),
      send(unknown),
      send(other!, { message: "binary \u0000 output" }),
      send(good!, { message: "running again" }),
    ]);
    for (const [result, id] of [[first, good], [second, other], [nul, other], [last, good]] as const) {
      expect(result).toEqual({ data: { set_task_run_states: { states: success(id!) } } });
    }
    expect(missing!.data).toEqual({ set_task_run_states: null });
    expect(missing!.errors!.map((error) => error.message)).toEqual([`State update failed for task run ID ${unknown}`]);
    expect((await stateRows(good!)).map((row) => row.version)).toEqual([1, 2, 3]);
    // a state's texts lose their NUL characters (Postgres stores none) rather than fail the state change
    const others = await stateRows(other!);
    expect(others.map((row) => row.version)).toEqual([1, 2, 3]);
    expect(others.map((row) => row.message)).toContain("binary  output");
  });

  test("a call inside the caller's transaction stays in it", async () => {
    const [taskRunId] = await newTaskRuns(1);
    const rolledBack = new Error("roll back");
    await expect(
      withTransaction(h.db, async (client) => {
        expect(await setTaskRunStates(client, [{ task_run_id: taskRunId!, state: state("Running") }])).toEqual(success(taskRunId!));
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    expect((await stateRows(taskRunId!)).map((row) => row.version)).toEqual([1]);
  });
});
