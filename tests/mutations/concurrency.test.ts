/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Issue 4's concurrency checks, over HTTP against the running service, with really concurrent writers: the service
// has a pool of POOL_SIZE connections, and every race starts behind a row lock this test holds on the contested
// row (the flow, the run), so the racers are all inside the database at the same moment before any of them may
// go on; only then is the lock released. (Task-run state writers share statements: there, the statements in flight
// are inside the database and the other writers wait for them in the service.)
//   - 50 concurrent create_flow_run calls with one idempotency key → one run, one Scheduled state row;
//   - two agents racing to Submit the same run → exactly one succeeds, the other gets v1's error;
//   - 20 concurrent writers on one task run (and on one flow run) → strictly increasing versions, every row kept.
import { beforeAll, describe, expect, test } from "vitest";
import { ALREADY_SUBMITTED, TASK_RUN_STATE_STATEMENTS } from "../../services/domain/src/states.ts";
import { SET_FLOW_RUN_STATES, SET_TASK_RUN_STATES, createFlowRun, setFlowRunState, setupFlow, state, task, unique, useMutations } from "./helpers.ts";

const POOL_SIZE = 20;
const h = useMutations({ poolSize: POOL_SIZE });
let endpoint: string;

beforeAll(async () => {
  const address = await h.service.listen(0, "127.0.0.1");
  endpoint = `http://127.0.0.1:${address.port}/graphql/`;
});

async function post(query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ data?: any; errors?: { message: string }[] }> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { data?: any; errors?: { message: string }[] };
}

/**
 * Runs `race` while this test holds `FOR UPDATE` on the row `lockSql` selects, and lets the racers go only once
 * `waiting` of the service's connections are blocked on a lock in this database (bounded wait: fails with the
 * count it saw). Any correct writer must touch that row, so they all pile up behind it whatever their own locking.
 */
async function raceBehindLock<T>(lockSql: string, params: unknown[], waiting: number, race: () => Promise<T>): Promise<T> {
  const blocker = await h.db.connect(); // the test's own pool, not the service's
  try {
    const blockerPid = (await blocker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    await blocker.query("BEGIN");
    const { rowCount } = await blocker.query(`${lockSql} FOR UPDATE`, params);
    expect(rowCount).toBe(1);
    let settled = false;
    const racing = race().finally(() => {
      settled = true;
    });
    racing.catch(() => {}); // awaited below; keep an early failure from being reported as unhandled
    const deadline = Date.now() + 20_000;
    for (;;) {
      // A race that ends while the lock is held never touched the contested row: report how it ended.
      if (settled) throw new Error(`the racers finished without waiting on the lock: ${JSON.stringify(await racing)}`);
      // (from another connection: inside the blocker's transaction pg_stat_activity would stay the same snapshot)
      const { rows } = await h.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock'`,
        [blockerPid],
      );
      if (rows[0]!.n >= waiting) break;
      if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} of ${waiting} racers were waiting on the lock after 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await blocker.query("COMMIT");
    return await racing;
  } finally {
    await blocker.query("ROLLBACK").catch(() => {});
    blocker.release();
  }
}

const CREATE_FLOW_RUN = `mutation($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`;

describe("create_flow_run", () => {
  test("50 concurrent calls with one idempotency key create one run with one Scheduled state", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a"), task("b")] });
    const key = unique("key");
    const results = await raceBehindLock("SELECT 1 FROM flow WHERE id = $1", [flowId], POOL_SIZE, () =>
      Promise.all(Array.from({ length: 50 }, () => post(CREATE_FLOW_RUN, { input: { flow_id: flowId, idempotency_key: key } }))),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    const ids = new Set(results.map((result) => result.data.create_flow_run.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    const runs = await h.db.query("SELECT id, version, state FROM flow_run WHERE flow_id = $1", [flowId]);
    expect(runs.rows).toEqual([{ id, version: 1, state: "Scheduled" }]);
    const states = await h.db.query("SELECT version, state FROM flow_run_state WHERE flow_run_id = $1", [id]);
    expect(states.rows).toEqual([{ version: 1, state: "Scheduled" }]);
    const taskRuns = await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE flow_run_id = $1", [id]);
    expect(taskRuns.rows[0].n).toBe(2);
  });
});

describe("the Submitted lock", () => {
  test("two agents racing to Submit the same run: exactly one succeeds, the other is told it was submitted", async () => {
    const { flowId, tenantId } = await setupFlow(h);
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const REGISTER = `mutation($t: UUID, $name: String) { register_agent(input: {tenant_id: $t, type: "LocalAgent", name: $name}) { id } }`;
    const agents: string[] = [];
    for (const name of ["agent-a", "agent-b"]) agents.push((await h.ok(REGISTER, { t: tenantId, name })).register_agent.id);
    const input = { input: { states: [{ flow_run_id: flowRunId, version: 1, state: state("Submitted") }] } };
    const results = await raceBehindLock("SELECT 1 FROM flow_run WHERE id = $1", [flowRunId], 2, () =>
      Promise.all(agents.map((agent) => post(SET_FLOW_RUN_STATES, input, { "X-PREFECT-AGENT-ID": agent }))),
    );
    const winners = results.flatMap((result, index) => (result.errors ? [] : [index]));
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    expect(results[winner]!.data.set_flow_run_states.states).toEqual([{ id: flowRunId, status: "SUCCESS", message: null }]);
    const loser = results[1 - winner]!;
    expect(loser.errors!.map((error) => error.message)).toEqual([ALREADY_SUBMITTED]);
    expect(loser.data).toEqual({ set_flow_run_states: null });
    const submitted = await h.db.query("SELECT version FROM flow_run_state WHERE flow_run_id = $1 AND state = 'Submitted'", [flowRunId]);
    expect(submitted.rows).toEqual([{ version: 2 }]);
    const run = await h.db.query("SELECT state, version, agent_id FROM flow_run WHERE id = $1", [flowRunId]);
    expect(run.rows).toEqual([{ state: "Submitted", version: 2, agent_id: agents[winner] }]);
  });
});

describe("atomic versions", () => {
  const WRITERS = 20;

  /** A run of each kind, ready for Running states (a task run's flow run is Running). */
  async function newRun(kind: "task" | "flow"): Promise<string> {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    if (kind === "flow") return flowRunId;
    await setFlowRunState(h, flowRunId, "Running");
    return (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId])).rows[0].id;
  }

  test.each(["task", "flow"] as const)("20 concurrent writers on one %s run: strictly increasing versions and every state row kept", async (kind) => {
    const [mutation, field] = kind === "flow" ? [SET_FLOW_RUN_STATES, "set_flow_run_states"] : [SET_TASK_RUN_STATES, "set_task_run_states"];
    const runId = await newRun(kind);
    // each writer's message names it
    const messages = Array.from({ length: WRITERS }, (_, index) => `writer ${index}`);
    // task-run writers share statements (coalescer.ts): only the statements in flight reach the lock, the other
    // writers wait in the service and go together in one statement once the lock is released
    const inPostgres = kind === "task" ? TASK_RUN_STATE_STATEMENTS : WRITERS;
    const results = await raceBehindLock(`SELECT 1 FROM ${kind}_run WHERE id = $1`, [runId], inPostgres, () =>
      Promise.all(messages.map((message) => post(mutation, { input: { states: [{ [`${kind}_run_id`]: runId, state: state("Running", { message }) }] } }))),
    );
    expect(results.flatMap((result) => result.errors ?? [])).toEqual([]);
    for (const result of results) expect(result.data[field].states).toEqual([{ id: runId, status: "SUCCESS", message: null }]);

    const { rows } = await h.db.query(`SELECT version, message FROM ${kind}_run_state WHERE ${kind}_run_id = $1 ORDER BY timestamp, version`, [runId]);
    expect(rows.map((row) => row.version)).toEqual(Array.from({ length: WRITERS + 1 }, (_, index) => index + 1));
    expect(rows.slice(1).map((row) => row.message).sort()).toEqual([...messages].sort());
    const current = await h.db.query(`SELECT version, state, state_message FROM ${kind}_run WHERE id = $1`, [runId]);
    expect(current.rows).toEqual([{ version: WRITERS + 1, state: "Running", state_message: rows.at(-1).message }]);
  });
});
