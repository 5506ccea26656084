// Lazarus pass (docs/v1-compatibility.md, The towel; acceptance checks 42–44), on a real database, without the queues.
import { beforeEach, describe, expect, test } from "vitest";
import { createPool } from "../../services/shared/src/database/pool.ts";
import { runLazarus } from "../../services/domain/src/towel/lazarus.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { flowRun, insertRun, logsOf } from "./fixtures.ts";

const db = useTestDatabase();
const options = { resurrectionAttemptLimit: 3 };

beforeEach(async () => {
  await db.pool.query("delete from tenant");
});

describe("Lazarus", () => {
  test.each(["Running", "Submitted"])("reschedules a %s run with a stale heartbeat and no active task runs (check 42)", async (state) => {
    const run = await insertRun(db.pool, { state, taskStates: ["Success", "Pending", "Failed"] });
    const before = await flowRun(db.pool, run.flowRunId);

    const result = await runLazarus(db.pool, options);

    expect(result).toMatchObject({ rescheduled: 1, failed: 0 });
    const after = await flowRun(db.pool, run.flowRunId);
    expect(after).toMatchObject({
      state: "Scheduled",
      version: before.version + 1,
      state_message: "Rescheduled by a Lazarus process.",
      times_resurrected: 1,
    });
    expect(after.state_start_time).toBeInstanceOf(Date);
    expect(Math.abs(after.state_start_time!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(after.serialized_state).toMatchObject({
      type: "Scheduled",
      message: "Rescheduled by a Lazarus process.",
      context: {},
      cached_inputs: {},
      _result: { type: "NoResultType" },
    });
    expect(new Date(after.serialized_state.start_time as string).getTime()).toBe(after.state_start_time!.getTime());
    expect(await logsOf(db.pool, run.flowRunId)).toEqual([
      {
        name: "prefect-server.Lazarus.FlowRun",
        level: "INFO",
        message: "Rescheduled by a Lazarus process. This is attempt 1.",
        tenant_id: run.tenantId,
        flow_run_id: run.flowRunId,
        task_run_id: null,
      },
    ]);
    expect(result.logs).toHaveLength(1);
  });

  test("counts attempts: the second resurrection says attempt 2", async () => {
    const run = await insertRun(db.pool, { timesResurrected: 1 });
    expect(await runLazarus(db.pool, options)).toMatchObject({ rescheduled: 1 });
    expect((await flowRun(db.pool, run.flowRunId)).times_resurrected).toBe(2);
    expect((await logsOf(db.pool, run.flowRunId))[0]!.message).toBe("Rescheduled by a Lazarus process. This is attempt 2.");
  });

  describe("skips (check 43)", () => {
    const cases: [string, Parameters<typeof insertRun>[1]][] = [
      ["lazarus disabled", { settings: { lazarus_enabled: false } }],
      ["heartbeat disabled", { settings: { heartbeat_enabled: false } }],
      ["a Failed run", { state: "Failed" }],
      ["a Success run", { state: "Success" }],
      ["a Pending run", { state: "Pending" }],
      ["a Scheduled run", { state: "Scheduled" }],
      ["a Cancelling run", { state: "Cancelling" }],
      ["a recent heartbeat", { heartbeatAgeSeconds: 60 }],
      ["no heartbeat at all", { heartbeatAgeSeconds: null }],
      ...["Running", "Retrying", "Resume", "Paused", "Scheduled", "Cancelling"].map(
        (taskState): [string, Parameters<typeof insertRun>[1]] => [`a ${taskState} task run`, { taskStates: ["Success", taskState] }],
      ),
    ];
    test.each(cases)("%s", async (_label, runOptions) => {
      const run = await insertRun(db.pool, runOptions);
      const before = await flowRun(db.pool, run.flowRunId);
      expect(await runLazarus(db.pool, options)).toMatchObject({ rescheduled: 0, failed: 0 });
      expect(await flowRun(db.pool, run.flowRunId)).toEqual(before);
      expect(await logsOf(db.pool, run.flowRunId)).toEqual([]);
    });

    test("enabled settings do not count as disabled", async () => {
      await insertRun(db.pool, { settings: { lazarus_enabled: true, heartbeat_enabled: true } });
      expect(await runLazarus(db.pool, options)).toMatchObject({ rescheduled: 1 });
    });
  });

  test("fails a run that used up its resurrections (check 44)", async () => {
    const run = await insertRun(db.pool, { timesResurrected: 3 });
    const before = await flowRun(db.pool, run.flowRunId);

    expect(await runLazarus(db.pool, options)).toMatchObject({ rescheduled: 0, failed: 1 });

    const message = "A Lazarus process attempted to reschedule this run 3 times without success. Marking as failed.";
    const after = await flowRun(db.pool, run.flowRunId);
    expect(after).toMatchObject({ state: "Failed", version: before.version + 1, state_message: message, times_resurrected: 3 });
    expect(after.state_start_time).toBeNull();
    expect(after.serialized_state).toMatchObject({ type: "Failed", message });
    expect(after.serialized_state).not.toHaveProperty("start_time");
    const logs = await logsOf(db.pool, run.flowRunId);
    expect(logs).toMatchObject([{ name: "prefect-server.Lazarus.FlowRun", level: "ERROR", message }]);
    expect(logs[0]!.message).toContain("Marking as failed");
  });

  test("the limit comes from the options", async () => {
    const run = await insertRun(db.pool, { timesResurrected: 1 });
    expect(await runLazarus(db.pool, { resurrectionAttemptLimit: 1 })).toMatchObject({ rescheduled: 0, failed: 1 });
    expect((await logsOf(db.pool, run.flowRunId))[0]!.message).toBe(
      "A Lazarus process attempted to reschedule this run 1 times without success. Marking as failed.",
    );
  });

  test("takes at most batchSize runs per pass, the longest untouched first", async () => {
    const runs = [];
    for (let index = 0; index < 3; index += 1) runs.push(await insertRun(db.pool));
    expect(await runLazarus(db.pool, { ...options, batchSize: 2 })).toMatchObject({ rescheduled: 2 });
    expect((await flowRun(db.pool, runs[2]!.flowRunId)).state).toBe("Running");
    expect(await runLazarus(db.pool, { ...options, batchSize: 2 })).toMatchObject({ rescheduled: 1 });
  });

  test("two concurrent passes never resurrect a run twice", async () => {
    const runs = [];
    for (let index = 0; index < 40; index += 1) runs.push(await insertRun(db.pool));
    const pools = [createPool(db.url, 2), createPool(db.url, 2), createPool(db.url, 2)];
    try {
      const results = await Promise.all(pools.map((pool) => runLazarus(pool, options)));
      expect(results.reduce((sum, result) => sum + result.rescheduled, 0)).toBe(runs.length);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const { rows } = await db.pool.query<{ n: number; resurrected: number; logs: number }>(
      `select count(*)::int as n, count(*) filter (where times_resurrected = 1)::int as resurrected,
              (select count(*)::int from log where name = 'prefect-server.Lazarus.FlowRun') as logs
       from flow_run where state = 'Scheduled'`,
    );
    expect(rows[0]).toEqual({ n: runs.length, resurrected: runs.length, logs: runs.length });
    const states = await db.pool.query(
      "select flow_run_id from flow_run_state where message = 'Rescheduled by a Lazarus process.' group by 1 having count(*) > 1",
    );
    expect(states.rows).toEqual([]);
  });
});
