// The schema's triggers (docs/schema.md): task runs created with a flow run (check 1, trigger part), run details
// updated from inserted states (checks 16 and 17), and `updated` maintained on every update.
import { beforeAll, describe, expect, test } from "vitest";
import { END_TIME_STATES, RUNNING_STATES, STATE_NAMES } from "../../services/domain/src/state_classes.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { type FlowFixture, insertFlow, insertFlowRun } from "./fixtures.ts";

const db = useTestDatabase();

describe("insert_task_runs_after_flow_run_insert", () => {
  let flow: FlowFixture;
  beforeAll(async () => {
    flow = await insertFlow(db.pool, {
      tasks: [{ cache_key: "cache-a" }, { cache_key: null }, { cache_key: "cache-c" }],
    });
  });

  test("check 1: a run of a flow with 3 tasks gets 3 Pending task runs at version 1", async () => {
    const flowRunId = await insertFlowRun(db.pool, flow);
    const { rows } = await db.pool.query(
      `select task_run.task_id, task_run.tenant_id, task_run.map_index, task_run.version, task_run.state,
              task_run.state_message, task_run.serialized_state, task_run.cache_key
       from task_run join task on task.id = task_run.task_id
       where task_run.flow_run_id = $1 order by task.slug`,
      [flowRunId],
    );
    const pending = {
      tenant_id: flow.tenantId,
      map_index: -1,
      version: 1,
      state: "Pending",
      state_message: "Task run created",
      serialized_state: { type: "Pending", message: "Task run created" },
    };
    expect(rows).toEqual([
      { ...pending, task_id: flow.taskIds[0], cache_key: "cache-a" },
      { ...pending, task_id: flow.taskIds[1], cache_key: null },
      { ...pending, task_id: flow.taskIds[2], cache_key: "cache-c" },
    ]);
  });

  test("each task run gets exactly one Pending state row", async () => {
    const flowRunId = await insertFlowRun(db.pool, flow);
    const { rows } = await db.pool.query(
      `select task_run_state.tenant_id, task_run_state.state, task_run_state.message,
              task_run_state.serialized_state, task_run_state.version
       from task_run_state join task_run on task_run.id = task_run_state.task_run_id
       where task_run.flow_run_id = $1`,
      [flowRunId],
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row).toEqual({
        tenant_id: flow.tenantId,
        state: "Pending",
        message: "Task run created",
        serialized_state: { type: "Pending", message: "Task run created" },
        version: 1,
      });
    }
  });

  test("a multi-row insert creates task runs for every run", async () => {
    const { rows } = await db.pool.query<{ id: string }>(
      "insert into flow_run (tenant_id, flow_id) values ($1, $2), ($1, $2) returning id",
      [flow.tenantId, flow.flowId],
    );
    const counts = await db.pool.query(
      "select flow_run_id, count(*)::int as n from task_run where flow_run_id = any($1) group by flow_run_id",
      [rows.map((row) => row.id)],
    );
    expect(counts.rows.map((row) => row.n)).toEqual([3, 3]);
  });

  test("does not fire on the update path of an upsert", async () => {
    const upsert = `insert into flow_run (tenant_id, flow_id, idempotency_key) values ($1, $2, 'same-key')
                    on conflict on constraint ix_flow_run_idempotency_key_unique
                    do update set idempotency_key = excluded.idempotency_key returning id`;
    const first = await db.pool.query<{ id: string }>(upsert, [flow.tenantId, flow.flowId]);
    const second = await db.pool.query<{ id: string }>(upsert, [flow.tenantId, flow.flowId]);
    expect(second.rows[0]!.id).toBe(first.rows[0]!.id);
    const { rows } = await db.pool.query("select count(*)::int as n from task_run where flow_run_id = $1", [
      first.rows[0]!.id,
    ]);
    expect(rows[0].n).toBe(3);
  });

  test("a run of a flow without tasks gets no task runs", async () => {
    const empty = await insertFlow(db.pool, { tenantId: flow.tenantId });
    const flowRunId = await insertFlowRun(db.pool, empty);
    const { rows } = await db.pool.query("select count(*)::int as n from task_run where flow_run_id = $1", [flowRunId]);
    expect(rows[0].n).toBe(0);
  });
});

interface StateInput {
  version: number | null;
  state?: string;
  timestamp?: Date;
  start_time?: Date | null;
  message?: string | null;
  result?: unknown;
}

// The two state tables behave alike; each case runs against both.
const RUN_KINDS = [
  { run: "flow_run", states: "flow_run_state", parent: "flow_run_id" },
  { run: "task_run", states: "task_run_state", parent: "task_run_id" },
] as const;

/** A fresh run of kind `run` of `flow` (a one-task flow), at `version` (set directly). */
async function newRunOf(run: (typeof RUN_KINDS)[number]["run"], flow: FlowFixture, version: number): Promise<string> {
  const flowRunId = await insertFlowRun(db.pool, flow);
  const id =
    run === "flow_run"
      ? flowRunId
      : (await db.pool.query<{ id: string }>("select id from task_run where flow_run_id = $1", [flowRunId])).rows[0]!.id;
  await db.pool.query(`update ${run} set version = $2 where id = $1`, [id, version]);
  return id;
}

describe.each(RUN_KINDS)("$states insert trigger", ({ run, states, parent }) => {
  let flow: FlowFixture;
  beforeAll(async () => {
    flow = await insertFlow(db.pool, { tasks: [{}] });
  });
  const newRun = (version: number) => newRunOf(run, flow, version);

  /** Inserts the states in ONE statement (row order = array order). */
  async function insertStates(runId: string, inputs: StateInput[]): Promise<void> {
    const rows = inputs.map((input) => ({
      state: "Running",
      timestamp: new Date(),
      start_time: null,
      message: null,
      result: null,
      ...input,
    }));
    await db.pool.query(
      `insert into ${states} (${parent}, version, state, "timestamp", start_time, message, result, serialized_state)
       select $1, x.version, x.state, x."timestamp", x.start_time, x.message, x.result, jsonb_build_object('type', x.state)
       from jsonb_to_recordset($2::jsonb)
         as x(version int, state text, "timestamp" timestamptz, start_time timestamptz, message text, result jsonb)`,
      [runId, JSON.stringify(rows)],
    );
  }

  async function readRun(runId: string) {
    const { rows } = await db.pool.query(
      `select version, state, serialized_state, state_start_time, state_timestamp, state_message, state_result,
              start_time, end_time
       from ${run} where id = $1`,
      [runId],
    );
    return rows[0];
  }

  test("a winning state is copied onto the run", async () => {
    const runId = await newRun(3);
    const timestamp = new Date("2024-05-01T10:00:00.123Z");
    const startTime = new Date("2024-05-01T11:00:00Z");
    await insertStates(runId, [
      { version: 4, state: "Scheduled", timestamp, start_time: startTime, message: "hello", result: { x: 1 } },
    ]);
    expect(await readRun(runId)).toEqual({
      version: 4,
      state: "Scheduled",
      serialized_state: { type: "Scheduled" },
      state_start_time: startTime,
      state_timestamp: timestamp,
      state_message: "hello",
      state_result: { x: 1 },
      start_time: null,
      end_time: null,
    });
  });

  test("check 16: version 10 over a run at version 10 is applied", async () => {
    const runId = await newRun(10);
    await insertStates(runId, [{ version: 10, state: "Success", message: "applied" }]);
    expect(await readRun(runId)).toMatchObject({ version: 10, state: "Success", state_message: "applied" });
  });

  test("check 16: version 10 over a run at version 11 is ignored", async () => {
    const runId = await newRun(11);
    const before = await readRun(runId);
    await insertStates(runId, [{ version: 10, state: "Success", message: "ignored" }]);
    expect(await readRun(runId)).toEqual(before);
  });

  test("check 16: batch [1, 5, 10, 11, 12, 100] over version 10 → version 100 with that row's timestamp", async () => {
    const runId = await newRun(10);
    const base = Date.parse("2024-05-01T10:00:00Z");
    const versions = [1, 5, 10, 11, 12, 100];
    await insertStates(
      runId,
      versions.map((version, index) => ({ version, message: `v${version}`, timestamp: new Date(base + index * 1000) })),
    );
    expect(await readRun(runId)).toMatchObject({
      version: 100,
      state_message: "v100",
      state_timestamp: new Date(base + 5 * 1000),
    });
  });

  test("the highest version of a batch wins whatever the row order", async () => {
    const runId = await newRun(10);
    await insertStates(runId, [
      { version: 100, message: "v100" },
      { version: 12, message: "v12" },
      { version: 11, message: "v11" },
    ]);
    expect(await readRun(runId)).toMatchObject({ version: 100, state_message: "v100" });
  });

  test("equal versions: the later inserted row wins", async () => {
    const runId = await newRun(5);
    await insertStates(runId, [
      { version: 6, message: "first" },
      { version: 6, message: "second" },
    ]);
    expect(await readRun(runId)).toMatchObject({ version: 6, state_message: "second" });
  });

  test("a NULL state version never wins", async () => {
    const runId = await newRun(0);
    const before = await readRun(runId);
    await insertStates(runId, [{ version: null, state: "Success" }]);
    expect(await readRun(runId)).toEqual(before);
  });

  test("a losing state still touches `updated`", async () => {
    const runId = await newRun(11);
    const before = await db.pool.query(`select updated from ${run} where id = $1`, [runId]);
    await insertStates(runId, [{ version: 1 }]);
    const { rows } = await db.pool.query(`select updated > $2 as bumped from ${run} where id = $1`, [
      runId,
      before.rows[0].updated,
    ]);
    expect(rows[0].bumped).toBe(true);
  });

  test("check 17: the earliest Running timestamp is the start time", async () => {
    const runId = await newRun(1);
    const t = Date.parse("2024-05-01T10:00:00Z");
    await insertStates(runId, [{ version: 2, state: "Running", timestamp: new Date(t - 10 * 60_000) }]);
    await insertStates(runId, [{ version: 3, state: "Running", timestamp: new Date(t) }]);
    expect(await readRun(runId)).toMatchObject({ version: 3, start_time: new Date(t - 10 * 60_000) });
  });

  test("check 17: equal-version finished states keep the larger timestamp as end time", async () => {
    const runId = await newRun(1);
    const t = Date.parse("2024-05-01T10:00:00Z");
    await insertStates(runId, [{ version: 2, state: "Success", timestamp: new Date(t + 10 * 60_000) }]);
    await insertStates(runId, [{ version: 2, state: "Success", timestamp: new Date(t) }]);
    expect(await readRun(runId)).toMatchObject({ end_time: new Date(t + 10 * 60_000), state_timestamp: new Date(t) });
  });

  test("only a state named exactly Running sets the start time", async () => {
    const runId = await newRun(1);
    await insertStates(runId, [
      { version: 2, state: "Retrying" },
      { version: 3, state: "running" },
      { version: 4, state: "Submitted" },
    ]);
    expect((await readRun(runId)).start_time).toBeNull();
  });

  // The triggers' lists, held against the state module's (services/domain/src/state_classes.ts): every state
  // class sets the end time exactly when END_TIME_STATES holds it, the start time only when it is Running.
  test.each(STATE_NAMES.map((state) => [state, END_TIME_STATES.includes(state)] as const))(
    "%s sets the end time: %s; the start time only if it is Running",
    async (state, setsEndTime) => {
      const runId = await newRun(1);
      const timestamp = new Date("2024-05-01T10:00:00Z");
      await insertStates(runId, [{ version: 2, state, timestamp }]);
      expect(await readRun(runId)).toMatchObject({
        end_time: setsEndTime ? timestamp : null,
        start_time: state === "Running" ? timestamp : null,
      });
    },
  );

  test("a losing Running or finished state sets neither start nor end time", async () => {
    const runId = await newRun(10);
    await insertStates(runId, [
      { version: 9, state: "Running" },
      { version: 9, state: "Success" },
    ]);
    expect(await readRun(runId)).toMatchObject({ start_time: null, end_time: null, version: 10 });
  });
});

describe("update_timestamp", () => {
  test.each(["tenant", "flow", "task", "flow_run", "task_run"])("an update of %s moves `updated` to now()", async (table) => {
    const flow = await insertFlow(db.pool, { tasks: [{}] });
    await insertFlowRun(db.pool, flow);
    const { rows } = await db.pool.query(
      `update ${table} set created = created
       where id = (select id from ${table} where ${table === "tenant" ? "id" : "tenant_id"} = $1 limit 1)
       returning updated = now() as is_now, updated > created as moved`,
      [flow.tenantId],
    );
    expect(rows).toEqual([{ is_now: true, moved: true }]);
  });
});

// Migration 000004: what the state triggers do beyond v1's rules, and what they no longer do twice.
describe("state triggers (000004)", () => {
  let flow: FlowFixture;
  beforeAll(async () => {
    flow = await insertFlow(db.pool, { tasks: [{}] });
  });

  async function taskRunOf(flowRunId: string): Promise<string> {
    return (await db.pool.query<{ id: string }>("select id from task_run where flow_run_id = $1", [flowRunId])).rows[0]!.id;
  }

  async function insertTaskRunState(taskRunId: string, version: number, state: string): Promise<void> {
    await db.pool.query(
      `insert into task_run_state (task_run_id, version, state, serialized_state) values ($1, $2, $3::text, jsonb_build_object('type', $3::text))`,
      [taskRunId, version, state],
    );
  }

  const heartbeat = async (taskRunId: string) =>
    (await db.pool.query<{ heartbeat: Date | null }>("select heartbeat from task_run where id = $1", [taskRunId])).rows[0]!.heartbeat;

  // held against RUNNING_STATES (services/domain/src/state_classes.ts): a running state sets it, no other does
  test.each(STATE_NAMES.map((state) => [state, RUNNING_STATES.includes(state)] as const))(
    "a winning %s task-run state sets the heartbeat: %s",
    async (state, beats) => {
      const taskRunId = await taskRunOf(await insertFlowRun(db.pool, flow));
      const before = new Date();
      await insertTaskRunState(taskRunId, 2, state);
      const after = await heartbeat(taskRunId);
      if (beats) expect(after!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
      else expect(after).toBeNull();
    },
  );

  test("a losing Running task-run state leaves the heartbeat alone", async () => {
    const taskRunId = await taskRunOf(await insertFlowRun(db.pool, flow));
    await db.pool.query("update task_run set version = 5 where id = $1", [taskRunId]);
    await insertTaskRunState(taskRunId, 4, "Running");
    expect(await heartbeat(taskRunId)).toBeNull();
  });

  test("a flow-run state never sets the heartbeat (the mutations service does, as v1's did)", async () => {
    const flowRunId = await insertFlowRun(db.pool, flow);
    await db.pool.query(
      `insert into flow_run_state (flow_run_id, version, state, serialized_state) values ($1, 2, 'Running', '{"type": "Running"}')`,
      [flowRunId],
    );
    const { rows } = await db.pool.query("select state, heartbeat from flow_run where id = $1", [flowRunId]);
    expect(rows[0]).toEqual({ state: "Running", heartbeat: null });
  });

  /** Inserts a flow run already showing `shown` and then its state row `state`, in one transaction; returns whether
   * the trigger rewrote the run (a new row version) and the run as it ends up. */
  async function runInFinalForm(shown: { message: string; serialized: string }, state: { message: string; serialized: string }) {
    const client = await db.pool.connect();
    try {
      await client.query("begin");
      const inserted = await client.query<{ id: string; ctid: string }>(
        `insert into flow_run (tenant_id, flow_id, version, state, serialized_state, state_timestamp, state_message)
         values ($1, $2, 1, 'Scheduled', $3::jsonb, '2024-05-01T10:00:00Z', $4) returning id, ctid::text`,
        [flow.tenantId, flow.flowId, shown.serialized, shown.message],
      );
      const { id, ctid } = inserted.rows[0]!;
      await client.query(
        `insert into flow_run_state (flow_run_id, version, state, serialized_state, "timestamp", message)
         values ($1, 1, 'Scheduled', $2::jsonb, '2024-05-01T10:00:00Z', $3)`,
        [id, state.serialized, state.message],
      );
      const after = await client.query("select ctid::text, state_message, serialized_state::text from flow_run where id = $1", [id]);
      await client.query("commit");
      return { rewritten: after.rows[0].ctid !== ctid, message: after.rows[0].state_message, serialized: after.rows[0].serialized_state };
    } finally {
      client.release();
    }
  }

  test("a run written in this transaction exactly as its new state would leave it is not written again", async () => {
    const same = { message: "Flow run scheduled.", serialized: '{"type": "Scheduled", "n": 1.0}' };
    expect(await runInFinalForm(same, same)).toEqual({ rewritten: false, message: same.message, serialized: '{"n": 1.0, "type": "Scheduled"}' });
  });

  test("any difference, even one jsonb equality ignores, is written as in v1", async () => {
    const shown = { message: "Flow run scheduled.", serialized: '{"type": "Scheduled", "n": 1.0}' };
    expect(await runInFinalForm(shown, { ...shown, message: "other" })).toMatchObject({ rewritten: true, message: "other" });
    // 1.0 = 1.00 for jsonb equality, but the stored text differs
    expect(await runInFinalForm(shown, { ...shown, serialized: '{"type": "Scheduled", "n": 1.00}' })).toMatchObject({
      rewritten: true,
      serialized: '{"n": 1.00, "type": "Scheduled"}',
    });
  });

  test("a run created in an earlier transaction is written even when nothing but `updated` changes", async () => {
    const flowRunId = await insertFlowRun(db.pool, flow);
    await db.pool.query(
      `update flow_run set version = 1, state = 'Scheduled', serialized_state = '{"type": "Scheduled"}', state_timestamp = '2024-05-01T10:00:00Z'
       where id = $1`,
      [flowRunId],
    );
    const before = (await db.pool.query("select updated from flow_run where id = $1", [flowRunId])).rows[0].updated;
    await db.pool.query(
      `insert into flow_run_state (flow_run_id, version, state, serialized_state, "timestamp") values ($1, 1, 'Scheduled', '{"type": "Scheduled"}', '2024-05-01T10:00:00Z')`,
      [flowRunId],
    );
    const { rows } = await db.pool.query("select updated > $2 as moved from flow_run where id = $1", [flowRunId, before]);
    expect(rows[0].moved).toBe(true);
  });

  test("new runs, task runs and their state rows get version-7 ids, ordered by creation time", async () => {
    const first = await insertFlowRun(db.pool, flow);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await insertFlowRun(db.pool, flow);
    const { rows } = await db.pool.query<{ id: string }>(
      `select id::text from flow_run where id = any($1)
       union all select id::text from task_run where flow_run_id = any($1)
       union all select s.id::text from task_run_state s join task_run t on t.id = s.task_run_id where t.flow_run_id = any($1)`,
      [[first, second]],
    );
    expect(rows).toHaveLength(6);
    for (const { id } of rows) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(first < second).toBe(true);
    const millis = (id: string) => Number.parseInt(id.replace("-", "").slice(0, 12), 16);
    expect(Math.abs(millis(second) - Date.now())).toBeLessThan(60_000);
  });

  test("new task runs are created in their Pending form and get one Pending state row each, for every inserted run only", async () => {
    const other = await insertFlow(db.pool, { tenantId: flow.tenantId, tasks: [{}, {}] });
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into flow_run (tenant_id, flow_id, idempotency_key) values ($1, $2, 'k1'), ($1, $3, 'k2'), ($1, $3, 'k3')
       on conflict (idempotency_key, flow_id) do update set idempotency_key = excluded.idempotency_key returning id`,
      [flow.tenantId, flow.flowId, other.flowId],
    );
    const again = await db.pool.query<{ id: string }>(
      `insert into flow_run (tenant_id, flow_id, idempotency_key) values ($1, $2, 'k1'), ($1, $3, 'k4')
       on conflict (idempotency_key, flow_id) do update set idempotency_key = excluded.idempotency_key returning id`,
      [flow.tenantId, flow.flowId, other.flowId],
    );
    const ids = [...rows.map((row) => row.id), again.rows[1]!.id];
    const taskRuns = await db.pool.query(
      `select tr.flow_run_id, tr.version, tr.state, tr.state_message, tr.tenant_id, tr.state_timestamp = s.timestamp as same_timestamp,
              (select count(*)::int from task_run_state x where x.task_run_id = tr.id) as states
       from task_run tr join task_run_state s on s.task_run_id = tr.id
       where tr.flow_run_id = any($1) order by tr.flow_run_id`,
      [ids],
    );
    expect(taskRuns.rows).toHaveLength(1 + 2 + 2 + 2);
    for (const row of taskRuns.rows) {
      expect(row).toMatchObject({ version: 1, state: "Pending", state_message: "Task run created", tenant_id: flow.tenantId, same_timestamp: true, states: 1 });
    }
  });
});

// Migration 000005: the state triggers are statement-level; a statement's runs with one state each are written by
// set-based UPDATEs, a run with several states in the statement takes them one by one.
describe.each(RUN_KINDS)("$states statement-level trigger (000005)", ({ run, states, parent }) => {
  let flow: FlowFixture;
  beforeAll(async () => {
    flow = await insertFlow(db.pool, { tasks: [{}] });
  });

  const newRun = (version: number) => newRunOf(run, flow, version);
  // what a new run's state message is before any state of the test (the trigger creates task runs Pending)
  const createdMessage = run === "task_run" ? "Task run created" : null;

  const insertSql = `insert into ${states} (${parent}, version, state, message, serialized_state)
    select x.run_id, x.version, x.state, x.message, jsonb_build_object('type', x.state)
    from jsonb_to_recordset($1::jsonb) as x(run_id uuid, version int, state text, message text)`;

  /** Runs `write` and returns each run's version, state message and whether its `updated` moved, in `ids` order. */
  async function afterWrite(ids: string[], write: () => Promise<unknown>) {
    const read = async () =>
      (
        // `updated` in µs: a Date keeps milliseconds, and both writes may fall in the same one
        await db.pool.query<{ id: string; version: number; state_message: string | null; updated: number }>(
          `select id, version, state_message, (extract(epoch from updated) * 1000000)::int8 as updated from ${run} where id = any($1)`,
          [ids],
        )
      ).rows.sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id));
    const before = await read();
    await write();
    return (await read()).map(({ updated, ...row }, index) => ({ ...row, moved: updated > before[index]!.updated }));
  }

  test("one statement: a winner, a loser and a run with several states each end as if written alone", async () => {
    const [winner, loser, several] = [await newRun(3), await newRun(7), await newRun(2)];
    const states = [
      { run_id: several, version: 4, state: "Running", message: "several v4" },
      { run_id: winner, version: 4, state: "Running", message: "winner v4" },
      { run_id: several, version: 3, state: "Running", message: "several v3 loses" },
      { run_id: loser, version: 6, state: "Running", message: "loser v6" },
      { run_id: several, version: 5, state: "Success", message: "several v5" },
    ];
    expect(await afterWrite([winner, loser, several], () => db.pool.query(insertSql, [JSON.stringify(states)]))).toEqual([
      { id: winner, version: 4, state_message: "winner v4", moved: true },
      { id: loser, version: 7, state_message: createdMessage, moved: true },
      { id: several, version: 5, state_message: "several v5", moved: true },
    ]);
  });

  test("an insert of no rows leaves every run alone", async () => {
    const id = await newRun(1);
    expect(await afterWrite([id], () => db.pool.query(insertSql, ["[]"]))).toEqual([{ id, version: 1, state_message: createdMessage, moved: false }]);
  });

  test("a state waiting for a run another transaction is writing is compared with what that transaction committed", async () => {
    const id = await newRun(3);
    const other = await db.pool.connect();
    const write = async () => {
      await other.query("begin");
      await other.query(`update ${run} set version = 9, state_message = 'committed v9' where id = $1`, [id]);
      // v5 wins over the v3 this statement's snapshot shows, but loses to the v9 committed while it waits for the lock
      const waiting = db.pool.query(insertSql, [JSON.stringify([{ run_id: id, version: 5, state: "Success", message: "v5" }])]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await other.query("commit");
      await waiting;
    };
    try {
      expect(await afterWrite([id], write)).toEqual([{ id, version: 9, state_message: "committed v9", moved: true }]);
    } finally {
      other.release();
    }
  });
});
