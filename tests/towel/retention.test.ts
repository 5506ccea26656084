// Retention (docs/operations.md, "Retention"): what a pass deletes and what it keeps, the dry run's counts, two passes
// at once, a pass stopped between batches or cut off inside one, and the towel loop (off by default).
import { Queue } from "bullmq";
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import { countRetention, runRetention, type RemovedRows, type RetentionRules } from "../../services/domain/src/towel/retention.ts";
import { ConfigError } from "../../services/shared/src/config.ts";
import type { Logger } from "../../services/shared/src/logger.ts";
import { startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { RETENTION } from "../../services/towel/src/loops/retention.ts";
import { towelWorkers } from "../../services/towel/src/workers.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { useTestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";
import { captureLogs, PassRecorder, towelConfig } from "./harness.ts";
import { ageRows, insertRun, type RunFixture } from "./fixtures.ts";

const db = useTestDatabase();
const redis = useTestRedis();
const DAY = 86_400;
const RULES: RetentionRules = { flowRunsOlderThanSeconds: 30 * DAY, logsOlderThanSeconds: 10 * DAY };

beforeEach(async () => {
  await db.pool.query("delete from tenant");
  await db.pool.query("delete from log");
});

/**
 * A run in `state` last updated `days` ago, in a tenant of its own, with a task run per entry of `taskStates`, an
 * artifact on each task run, and two logs (one of the run, one of its first task run) written `logDays` ago.
 */
async function run(state: string, days: number, options: { taskStates?: string[]; logDays?: number } = {}): Promise<RunFixture> {
  const fixture = await insertRun(db.pool, { state, taskStates: options.taskStates ?? ["Success", "Success"] });
  await db.pool.query(
    "insert into task_run_artifact (tenant_id, task_run_id, kind, data) select tenant_id, id, 'markdown', '{}' from task_run where flow_run_id = $1",
    [fixture.flowRunId],
  );
  await db.pool.query("insert into log (tenant_id, flow_run_id, task_run_id, message) values ($1, $2, null, 'run'), ($1, $2, $3, 'task')", [
    fixture.tenantId,
    fixture.flowRunId,
    fixture.taskRunIds[0] ?? null,
  ]);
  await ageRows(db.pool, "log", `flow_run_id = '${fixture.flowRunId}'`, options.logDays ?? days);
  await ageRows(db.pool, "flow_run", `id = '${fixture.flowRunId}'`, days);
  return fixture;
}

async function counts(): Promise<RemovedRows> {
  const { rows } = await db.pool.query<RemovedRows>(`select
    (select count(*)::int from flow_run) as "flowRuns", (select count(*)::int from flow_run_state) as "flowRunStates",
    (select count(*)::int from task_run) as "taskRuns", (select count(*)::int from task_run_state) as "taskRunStates",
    (select count(*)::int from task_run_artifact) as artifacts, (select count(*)::int from log) as logs`);
  return rows[0]!;
}

const noRows = (): RemovedRows => ({ flowRuns: 0, flowRunStates: 0, taskRuns: 0, taskRunStates: 0, artifacts: 0, logs: 0 });
const combine = (a: RemovedRows, b: RemovedRows, sign: 1 | -1): RemovedRows =>
  Object.fromEntries(Object.entries(a).map(([key, value]) => [key, value + sign * b[key as keyof RemovedRows]])) as unknown as RemovedRows;
const minus = (a: RemovedRows, b: RemovedRows) => combine(a, b, -1);
const plus = (a: RemovedRows, b: RemovedRows) => combine(a, b, 1);

const exists = async (table: string, id: string) => (await db.pool.query(`select 1 from ${table} where id = $1`, [id])).rowCount === 1;
const logsOf = async (flowRunId: string) =>
  (await db.pool.query<{ message: string }>("select message from log where flow_run_id = $1 order by message", [flowRunId])).rows.map((row) => row.message);

describe("what a pass deletes", () => {
  test("finished runs older than the age go with every row of theirs, in every tenant; unfinished and newer runs stay; old logs go", async () => {
    const oldSuccess = await run("Success", 40);
    const oldTriggerFailed = await run("TriggerFailed", 31, { taskStates: ["Failed"] });
    const oldCancelled = await run("Cancelled", 40);
    const oldRunning = await run("Running", 400, { taskStates: ["Running"] });
    const oldScheduled = await run("Scheduled", 400, { taskStates: [], logDays: 1 });
    const recentSuccess = await run("Success", 5, { logDays: 20 });
    const fresh = await run("Failed", 0);
    await db.pool.query("insert into internal.flow_run_claim (flow_run_id) values ($1)", [oldSuccess.flowRunId]);
    // logs of no run at all: one old, one new
    await db.pool.query("insert into log (message) values ('orphan old'), ('orphan new')");
    await ageRows(db.pool, "log", "message = 'orphan old'", 11);
    const before = await counts();

    const counted = await countRetention(db.pool, RULES);
    expect(await counts(), "a dry run deletes nothing").toEqual(before);
    const result = await runRetention(db.pool, RULES);

    expect(result.complete).toBe(true);
    expect(result.removed).toEqual(counted);
    expect(minus(before, await counts())).toEqual(result.removed);
    // 3 runs: 2 + 1 + 2 task runs, their states (a Pending and a Success each; the run's own states), 5 artifacts,
    // their 6 logs, 2 old logs of kept runs and the old orphan
    expect(result.removed).toMatchObject({ flowRuns: 3, taskRuns: 5, artifacts: 5, logs: 6 + 2 + 2 + 1 });
    for (const gone of [oldSuccess, oldTriggerFailed, oldCancelled]) {
      expect(await exists("flow_run", gone.flowRunId)).toBe(false);
      expect((await db.pool.query("select 1 from task_run_state where task_run_id = any($1)", [gone.taskRunIds])).rowCount).toBe(0);
    }
    expect((await db.pool.query("select 1 from internal.flow_run_claim")).rowCount).toBe(0);
    for (const kept of [oldRunning, oldScheduled, recentSuccess, fresh]) expect(await exists("flow_run", kept.flowRunId)).toBe(true);
    expect((await db.pool.query("select 1 from task_run where flow_run_id = $1", [oldRunning.flowRunId])).rowCount).toBe(1);
    // logs older than 10 days go whatever their run; newer ones stay
    expect(await logsOf(oldRunning.flowRunId)).toEqual([]);
    expect(await logsOf(recentSuccess.flowRunId)).toEqual([]);
    expect(await logsOf(oldScheduled.flowRunId)).toEqual(["run", "task"]);
    expect(await logsOf(fresh.flowRunId)).toEqual(["run", "task"]);
    expect((await db.pool.query<{ message: string }>("select message from log where flow_run_id is null")).rows).toEqual([{ message: "orphan new" }]);

    expect(await runRetention(db.pool, RULES), "a second pass finds nothing").toMatchObject({ removed: await countRetention(db.pool, RULES), complete: true });
    expect(await countRetention(db.pool, RULES)).toEqual(noRows());
  });

  test("each rule can be off: runs only, logs only", async () => {
    const oldRun = await run("Success", 40, { logDays: 1 });
    const keptRun = await run("Running", 1, { logDays: 40 });

    const runsOnly = await runRetention(db.pool, { flowRunsOlderThanSeconds: 30 * DAY, logsOlderThanSeconds: null });
    expect(runsOnly.removed).toMatchObject({ flowRuns: 1, logs: 2 });
    expect(await logsOf(keptRun.flowRunId)).toEqual(["run", "task"]);

    await ageRows(db.pool, "flow_run", `id = '${keptRun.flowRunId}'`, 40);
    const logsOnly = await runRetention(db.pool, { flowRunsOlderThanSeconds: null, logsOlderThanSeconds: 30 * DAY });
    expect(logsOnly.removed).toEqual({ ...noRows(), logs: 2 });
    expect(await exists("flow_run", keptRun.flowRunId)).toBe(true);
    expect(await exists("flow_run", oldRun.flowRunId)).toBe(false);
  });
});

describe("batches", () => {
  async function backlog(runs: number): Promise<void> {
    for (let index = 0; index < runs; index += 1) await run("Success", 40, { taskStates: ["Success"] });
    await db.pool.query("insert into log (message) select 'old ' || n from generate_series(1, 50) n");
    await ageRows(db.pool, "log", "message like 'old %'", 20);
  }

  test("two passes at once delete every row once, and both finish", async () => {
    await backlog(20);
    const expected = await countRetention(db.pool, RULES);
    const options = { runBatchSize: 2, logBatchSize: 7 };
    const [first, second] = await Promise.all([runRetention(db.pool, RULES, options), runRetention(db.pool, RULES, options)]);

    expect(plus(first.removed, second.removed)).toEqual(expected);
    expect(first.complete && second.complete).toBe(true);
    expect(await countRetention(db.pool, RULES)).toEqual(noRows());
    expect((await counts()).flowRuns).toBe(0);
  });

  test("a pass stopped between batches leaves whole runs, and the next pass deletes the rest", async () => {
    await backlog(5);
    const expected = await countRetention(db.pool, RULES);
    const stop = new AbortController();
    const seen: number[] = [];
    const stopped = await runRetention(db.pool, RULES, {
      runBatchSize: 2,
      logBatchSize: 7,
      signal: stop.signal,
      onBatch: (removed) => {
        seen.push(removed.flowRuns);
        stop.abort();
      },
    });
    expect(stopped.complete).toBe(false);
    expect(stopped.batches).toBe(1);
    expect(seen).toEqual([2]);
    // the runs left are whole: each still has its task run and their states
    const { rows } = await db.pool.query<{ task_runs: number; states: number }>(
      `select (select count(*)::int from task_run tr where tr.flow_run_id = fr.id) as task_runs,
              (select count(*)::int from flow_run_state s where s.flow_run_id = fr.id) as states
       from flow_run fr`,
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row).toEqual({ task_runs: 1, states: 1 });

    const rest = await runRetention(db.pool, RULES, { runBatchSize: 2, logBatchSize: 7 });
    expect(rest.complete).toBe(true);
    expect(minus(expected, stopped.removed)).toEqual(rest.removed);
  });

  test("a batch cut off inside its transaction deletes nothing; the pass can be run again", async () => {
    const blocked = await run("Success", 40);
    await run("Success", 40);
    const before = await counts();
    // another transaction holds a task-run state of the batch: the batch waits for it, and is then cut off
    const holder = await db.pool.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from task_run_state where task_run_id = $1 for update", [blocked.taskRunIds[0]]);
      const pass = runRetention(db.pool, RULES);
      const outcome = pass.then(
        () => "finished",
        () => "failed",
      );
      let waiting: number | undefined;
      await waitFor("the batch to wait for the lock", async () => {
        const { rows } = await db.pool.query<{ pid: number }>(
          "select pid from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%task_run_state%'",
        );
        waiting = rows[0]?.pid;
        return waiting !== undefined;
      });
      await db.pool.query("select pg_terminate_backend($1)", [waiting]);
      expect(await outcome).toBe("failed");
      expect(await counts()).toEqual(before);
    } finally {
      await holder.query("rollback");
      holder.release();
    }
    const again = await runRetention(db.pool, RULES);
    expect(again.complete).toBe(true);
    expect(minus(before, await counts())).toEqual(again.removed);
    expect(again.removed.flowRuns).toBe(2);
  });
});

describe("the towel loop", () => {
  const running: RunningTowel[] = [];
  afterAll(async () => {
    await Promise.all(running.map((towel) => towel.stop()));
  });
  const config = (env: Record<string, string> = {}) =>
    towelConfig({
      PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
      PREFECT_SERVER__REDIS__URL: redis.url,
      PREFECT_SERVER__QUEUE__PREFIX: redis.prefix,
      ...env,
    });

  test("is off by default, and on when a rule has an age", () => {
    const loops = (env: Record<string, string>) => towelWorkers(config(env)).map((worker) => worker.name);
    expect(loops({})).not.toContain("Retention");
    expect(loops({ PREFECT_SERVER__SERVICES__TOWEL__RETENTION_FLOW_RUNS_DAYS: "0", PREFECT_SERVER__SERVICES__TOWEL__RETENTION_LOGS_DAYS: "0" })).not.toContain("Retention");
    expect(loops({ PREFECT_SERVER__SERVICES__TOWEL__RETENTION_LOGS_DAYS: "14" })).toContain("Retention");
    expect(config({}).services.towel).toMatchObject({ retention_flow_runs_days: 0, retention_logs_days: 0, retention_interval_seconds: 3600 });
    expect(() => config({ PREFECT_SERVER__SERVICES__TOWEL__RETENTION_FLOW_RUNS_DAYS: "-1" })).toThrow(ConfigError);
    expect(() => config({ PREFECT_SERVER__SERVICES__TOWEL__RETENTION_FLOW_RUNS_DAYS: "-1" })).toThrow(
      "PREFECT_SERVER__SERVICES__TOWEL__RETENTION_FLOW_RUNS_DAYS: expected a number >= 0",
    );
  });

  test("switched off again, its schedule is removed: no jobs pile up in a queue no worker takes", { timeout: 60_000 }, async () => {
    const logs = captureLogs();
    const schedulers = async () => {
      const queue = new Queue(RETENTION.queue, { connection: redis.client, prefix: redis.prefix });
      try {
        return (await queue.getJobSchedulers()).map((scheduler) => scheduler.key);
      } finally {
        await queue.close();
      }
    };
    const on = await startTowel(config({ PREFECT_SERVER__SERVICES__TOWEL__RETENTION_LOGS_DAYS: "14" }), logs.root as Logger, { loggerFor: logs.loggerFor });
    await on.stop();
    expect(await schedulers()).toEqual([RETENTION.queue]);
    const off = await startTowel(config(), logs.root as Logger, { loggerFor: logs.loggerFor });
    await off.stop();
    expect(await schedulers()).toEqual([]);
  });

  test("runs its passes when configured", { timeout: 60_000 }, async () => {
    const old = await run("Success", 40);
    const kept = await run("Success", 5, { logDays: 5 });
    const recorder = new PassRecorder();
    const logs = captureLogs();
    const towel = await startTowel(
      config({ PREFECT__LOOP_SERVICE__DEBUG_MODE: "true", PREFECT_SERVER__SERVICES__TOWEL__RETENTION_FLOW_RUNS_DAYS: "30" }),
      logs.root as Logger,
      { workers: [RETENTION], hooks: recorder.hooks("only"), loggerFor: logs.loggerFor },
    );
    running.push(towel);
    await waitFor("a Retention pass that deleted a run", () => recorder.finished("Retention").some((pass) => pass.counts?.flow_runs === 1));
    await towel.stop();

    expect(await exists("flow_run", old.flowRunId)).toBe(false);
    expect(await exists("flow_run", kept.flowRunId)).toBe(true);
    expect(recorder.finished("Retention").filter((pass) => pass.error)).toEqual([]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        name: "prefect-server.Retention",
        flow_runs: 1,
        msg: "Deleted 1 flow run, 1 flow-run state, 2 task runs, 4 task-run states, 2 artifacts and 2 logs.",
      }),
    );
  });
});
