// ZombieKiller pass (docs/v1-compatibility.md, The towel; acceptance checks 45–48), on a real database, without the
// queues.
import { beforeEach, describe, expect, test } from "vitest";
import { runZombieKiller } from "../../services/domain/src/towel/zombie_killer.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { flowRun, insertRun, logsOf, setFlowRunState, setTaskRunState, taskRun } from "./fixtures.ts";

const db = useTestDatabase();

beforeEach(async () => {
  await db.pool.query("delete from tenant");
});

const failedMessage = (taskRunId: string, name: string) =>
  `No heartbeat detected from the remote task; marking the task run ${taskRunId} (${name}) as failed.`;

async function taskName(taskRunId: string): Promise<string> {
  const { rows } = await db.pool.query<{ name: string }>(
    "select t.name from task_run tr join task t on t.id = tr.task_id where tr.id = $1",
    [taskRunId],
  );
  return rows[0]!.name;
}

describe("ZombieKiller: task runs", () => {
  test("fails a Running task run of a Running flow run whose heartbeat is stale (check 45)", async () => {
    const run = await insertRun(db.pool, { taskStates: ["Running", "Success"] });
    const [zombie, done] = run.taskRunIds as [string, string];
    await db.pool.query("update task_run set name = 'my-task-run', heartbeat = now() where id = $1", [zombie]);
    const before = await taskRun(db.pool, zombie);
    const flowBefore = await flowRun(db.pool, run.flowRunId);
    const doneBefore = await taskRun(db.pool, done);

    const result = await runZombieKiller(db.pool);

    expect(result).toMatchObject({ taskRunsFailed: 1, taskRunsRetried: 0, flowRunsFailed: 0 });
    const message = failedMessage(zombie, "my-task-run");
    const after = await taskRun(db.pool, zombie);
    expect(after).toMatchObject({ state: "Failed", version: before.version + 1, state_message: message, state_start_time: null });
    expect(after.serialized_state).toEqual({
      type: "Failed",
      message,
      context: {},
      cached_inputs: {},
      _result: { type: "NoResultType" },
    });
    expect(await flowRun(db.pool, run.flowRunId)).toEqual(flowBefore);
    expect(await taskRun(db.pool, done)).toEqual(doneBefore);
    expect(await logsOf(db.pool, run.flowRunId)).toEqual([
      {
        name: "prefect-server.ZombieKiller.TaskRun",
        level: "ERROR",
        message,
        tenant_id: run.tenantId,
        flow_run_id: run.flowRunId,
        task_run_id: zombie,
      },
    ]);
  });

  test("names the task when the task run has no name of its own", async () => {
    const run = await insertRun(db.pool, { taskStates: ["Running"] });
    const zombie = run.taskRunIds[0]!;
    await runZombieKiller(db.pool);
    expect((await taskRun(db.pool, zombie)).state_message).toBe(failedMessage(zombie, await taskName(zombie)));
  });

  test("retries a task with retries left, after its retry_delay; then fails it (check 46)", async () => {
    const run = await insertRun(db.pool, { taskStates: ["Running"], maxRetries: 1, retryDelay: "01:00:00" });
    const zombie = run.taskRunIds[0]!;
    await setTaskRunState(db.pool, zombie, "Running", { cached_inputs: { x: { type: "PrefectResult", location: "1" } } });

    expect(await runZombieKiller(db.pool)).toMatchObject({ taskRunsRetried: 1, taskRunsFailed: 0 });
    const message = "No heartbeat detected from the remote task; retrying the run.This will be retry 1 of 1.";
    const retrying = await taskRun(db.pool, zombie);
    expect(retrying).toMatchObject({ state: "Retrying", state_message: message });
    const expectedStart = Date.now() + 3600_000;
    expect(Math.abs(retrying.state_start_time!.getTime() - expectedStart)).toBeLessThan(60_000);
    expect(retrying.serialized_state).toMatchObject({
      type: "Retrying",
      message,
      run_count: 1,
      cached_inputs: { x: { type: "PrefectResult", location: "1" } },
    });
    expect(new Date(retrying.serialized_state.start_time as string).getTime()).toBe(retrying.state_start_time!.getTime());
    expect(await logsOf(db.pool, run.flowRunId)).toMatchObject([
      { name: "prefect-server.ZombieKiller.TaskRun", level: "ERROR", message, task_run_id: zombie },
    ]);

    // the engine runs it again and loses it again: no retries left
    await setTaskRunState(db.pool, zombie, "Running");
    expect(await runZombieKiller(db.pool)).toMatchObject({ taskRunsRetried: 0, taskRunsFailed: 1 });
    expect(await taskRun(db.pool, zombie)).toMatchObject({ state: "Failed" });
  });

  test.each([
    ["17 days 01:00:03", (17 * 24 * 3600 + 3603) * 1000],
    [null, 0],
  ])("honours retry_delay %s", async (retryDelay, delayMs) => {
    const run = await insertRun(db.pool, { taskStates: ["Running"], maxRetries: 2, retryDelay });
    await runZombieKiller(db.pool);
    const retrying = await taskRun(db.pool, run.taskRunIds[0]!);
    expect(retrying.state).toBe("Retrying");
    expect(retrying.state_message).toBe("No heartbeat detected from the remote task; retrying the run.This will be retry 1 of 2.");
    expect(Math.abs(retrying.state_start_time!.getTime() - (Date.now() + delayMs))).toBeLessThan(60_000);
  });

  test.each(["Failed", "Cancelling"])("fails the task directly when its flow run is %s", async (flowState) => {
    const run = await insertRun(db.pool, { taskStates: ["Running"], maxRetries: 3 });
    await setFlowRunState(db.pool, run.flowRunId, flowState);
    await runZombieKiller(db.pool);
    expect(await taskRun(db.pool, run.taskRunIds[0]!)).toMatchObject({ state: "Failed" });
  });

  describe("ignores (check 47)", () => {
    const cases: [string, Parameters<typeof insertRun>[1]][] = [
      ["heartbeat-disabled flow groups", { taskStates: ["Running"], settings: { heartbeat_enabled: false } }],
      ["a recent flow-run heartbeat", { taskStates: ["Running"], heartbeatAgeSeconds: 30 }],
      ["a flow run without heartbeat", { taskStates: ["Running"], heartbeatAgeSeconds: null }],
      ...["Scheduled", "Retrying", "Pending", "Success", "Failed", "Cancelling", "Paused"].map(
        (state): [string, Parameters<typeof insertRun>[1]] => [`a ${state} task run`, { taskStates: [state] }],
      ),
    ];
    test.each(cases)("%s", async (_label, options) => {
      const run = await insertRun(db.pool, options);
      const before = await taskRun(db.pool, run.taskRunIds[0]!);
      expect(await runZombieKiller(db.pool)).toMatchObject({ taskRunsFailed: 0, taskRunsRetried: 0, flowRunsFailed: 0 });
      expect(await taskRun(db.pool, run.taskRunIds[0]!)).toEqual(before);
      expect(await logsOf(db.pool, run.flowRunId)).toEqual([]);
    });

    test("a stale task heartbeat when the flow run's heartbeat is fresh", async () => {
      const run = await insertRun(db.pool, { taskStates: ["Running"], heartbeatAgeSeconds: 5 });
      await db.pool.query("update task_run set heartbeat = now() - interval '1 day' where id = $1", [run.taskRunIds[0]]);
      expect(await runZombieKiller(db.pool)).toMatchObject({ taskRunsFailed: 0 });
    });
  });
});

describe("ZombieKiller: cancelling flow runs (check 48)", () => {
  test("fails a Cancelling run with a stale heartbeat", async () => {
    const run = await insertRun(db.pool, { state: "Cancelling" });
    const before = await flowRun(db.pool, run.flowRunId);
    expect(await runZombieKiller(db.pool)).toMatchObject({ flowRunsFailed: 1, taskRunsFailed: 0 });
    const message = "No heartbeat detected from the flow run; marking the run as failed.";
    const after = await flowRun(db.pool, run.flowRunId);
    expect(after).toMatchObject({ state: "Failed", version: before.version + 1, state_message: message });
    expect(after.serialized_state).toMatchObject({ type: "Failed", message });
    expect(await logsOf(db.pool, run.flowRunId)).toEqual([
      {
        name: "prefect-server.ZombieKiller.FlowRun",
        level: "ERROR",
        message,
        tenant_id: run.tenantId,
        flow_run_id: run.flowRunId,
        task_run_id: null,
      },
    ]);
  });

  test.each([
    ["a Running run", { state: "Running" }],
    ["a recent heartbeat", { state: "Cancelling", heartbeatAgeSeconds: 20 }],
    ["heartbeat disabled", { state: "Cancelling", settings: { heartbeat_enabled: false } }],
  ])("leaves %s alone", async (_label, options) => {
    const run = await insertRun(db.pool, options);
    const before = await flowRun(db.pool, run.flowRunId);
    expect(await runZombieKiller(db.pool)).toMatchObject({ flowRunsFailed: 0 });
    expect(await flowRun(db.pool, run.flowRunId)).toEqual(before);
  });

  test("task runs first, then the cancelling flow run, in one pass", async () => {
    const run = await insertRun(db.pool, { state: "Cancelling", taskStates: ["Running"] });
    const result = await runZombieKiller(db.pool);
    expect(result).toMatchObject({ taskRunsFailed: 1, flowRunsFailed: 1 });
    expect(result.logs.map((log) => log.name)).toEqual(["prefect-server.ZombieKiller.TaskRun", "prefect-server.ZombieKiller.FlowRun"]);
    expect((await flowRun(db.pool, run.flowRunId)).state).toBe("Failed");
  });
});
