// Three towel instances (each with its own database pool and Redis connection) working the same queues in debug
// mode: every pass is slower than the 1 s interval, yet no two passes of one loop ever run at once, no run is
// scheduled twice and no run is resurrected twice. Then a graceful stop in the middle of a pass.
import { afterAll, describe, expect, test } from "vitest";
import type { Logger } from "../../services/shared/src/logger.ts";
import { startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { useTestRedis } from "../helpers/redis.ts";
import { insertFlow } from "../database/fixtures.ts";
import { captureLogs, everySecondSchedule, PassRecorder, towelConfig } from "./harness.ts";
import { waitFor } from "../helpers/wait.ts";
import { insertRun } from "./fixtures.ts";

const db = useTestDatabase();
const redis = useTestRedis();
const LOOPS = ["Scheduler", "Lazarus", "ZombieKiller"];
const running: RunningTowel[] = [];

afterAll(async () => {
  await Promise.all(running.map((towel) => towel.stop()));
});

const config = () =>
  towelConfig({
    PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
    PREFECT_SERVER__REDIS__URL: redis.url,
    PREFECT_SERVER__QUEUE__PREFIX: redis.prefix,
    PREFECT__LOOP_SERVICE__DEBUG_MODE: "true",
  });

describe("towel replicas on Redis", () => {
  test("three replicas, ≥ 10 passes of each loop: no overlap, no duplicate run, no double resurrection", { timeout: 120_000 }, async () => {
    const flow = await insertFlow(db.pool, { tasks: [{}] });
    // one event a second: every Scheduler pass has new runs to create
    await db.pool.query("update flow set schedule = $2, is_schedule_active = true where id = $1", [
      flow.flowId,
      JSON.stringify(everySecondSchedule()),
    ]);
    const lost = [];
    for (let index = 0; index < 30; index += 1) lost.push(await insertRun(db.pool));
    const zombies = [];
    for (let index = 0; index < 10; index += 1) zombies.push(await insertRun(db.pool, { taskStates: ["Running"], heartbeatAgeSeconds: 3600, state: "Cancelling" }));

    const recorder = new PassRecorder();
    const logs = captureLogs();
    for (const instance of ["a", "b", "c"]) {
      running.push(
        await startTowel(config(), logs.root as Logger, {
          hooks: recorder.hooks(instance, { delayMs: 1300 }),
          loggerFor: logs.loggerFor,
        }),
      );
    }
    await waitFor("5 passes of every loop", () => LOOPS.every((loop) => recorder.finished(loop).length >= 5), 100_000);
    // BullMQ hands the next due job to the worker that just finished one, so replica "a" tends to do every pass;
    // stop it half-way: the others must carry on.
    await running.shift()!.stop();
    const handover = Date.now();
    await waitFor("10 passes of every loop", () => LOOPS.every((loop) => recorder.finished(loop).length >= 10), 100_000);
    await Promise.all(running.splice(0).map((towel) => towel.stop()));

    for (const loop of LOOPS) {
      expect(recorder.overlaps(loop), `${loop} passes overlapping`).toEqual([]);
      expect(recorder.finished(loop).filter((pass) => pass.error)).toEqual([]);
    }
    // the remaining replicas took over every loop
    for (const loop of LOOPS) {
      expect(recorder.finished(loop, handover).filter((pass) => pass.instance !== "a").length).toBeGreaterThan(0);
    }

    const duplicates = await db.pool.query(
      "select scheduled_start_time, count(*) from flow_run where flow_id = $1 group by 1 having count(*) > 1",
      [flow.flowId],
    );
    expect(duplicates.rows).toEqual([]);
    const scheduled = await db.pool.query<{ n: number; states: number }>(
      `select count(*)::int as n, (select count(*)::int from flow_run_state s join flow_run r on r.id = s.flow_run_id where r.flow_id = $1) as states
       from flow_run where flow_id = $1 and auto_scheduled and state = 'Scheduled'`,
      [flow.flowId],
    );
    expect(scheduled.rows[0]!.n).toBeGreaterThanOrEqual(10);
    expect(scheduled.rows[0]!.states).toBe(scheduled.rows[0]!.n);
    const created = recorder.finished("Scheduler").reduce((sum, pass) => sum + (pass.counts?.runs_created ?? 0), 0);
    expect(created).toBe(scheduled.rows[0]!.n);

    const resurrections = await db.pool.query<{ flow_run_id: string; n: number }>(
      `select r.id as flow_run_id, count(s.id)::int as n from flow_run r
       left join flow_run_state s on s.flow_run_id = r.id and s.message = 'Rescheduled by a Lazarus process.'
       where r.id = any($1::uuid[]) group by r.id`,
      [lost.map((run) => run.flowRunId)],
    );
    expect(resurrections.rows.map((row) => row.n)).toEqual(lost.map(() => 1));
    const rescheduled = recorder.finished("Lazarus").reduce((sum, pass) => sum + (pass.counts?.rescheduled ?? 0), 0);
    expect(rescheduled).toBe(lost.length);

    const killed = await db.pool.query<{ n: number }>(
      "select count(*)::int as n from log where name = 'prefect-server.ZombieKiller.TaskRun'",
    );
    expect(killed.rows[0]!.n).toBe(zombies.length);

    // each pass says what it did and how long it took, under v1's logger names
    const summary = logs.lines.find((line) => line.name === "prefect-server.Lazarus" && Number(line.rescheduled) > 0);
    expect(summary).toMatchObject({ level: 30, msg: expect.stringMatching(/^Rescheduled \d+ flow runs; marked 0 as failed\.$/) });
    expect(summary!.duration_ms).toEqual(expect.any(Number));
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ name: "prefect-server.Lazarus.FlowRun", msg: "Rescheduled by a Lazarus process. This is attempt 1." }),
    );
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ name: "prefect-server.Scheduler", msg: expect.stringMatching(/^Scheduled \d+ flow runs\.$/) }),
    );
    // 1.3 s passes against a 1 s interval
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ name: "prefect-server.ZombieKiller", level: 40, msg: "ZombieKiller took longer to run than its loop interval of 1.0 seconds." }),
    );
  });

  test("stop() waits for the pass in progress", async () => {
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const passStarted = new Promise<void>((resolve) => (started = resolve));
    const logs = captureLogs();
    const towel = await startTowel(config(), logs.root as Logger, {
      loggerFor: logs.loggerFor,
      hooks: {
        passStarted: async (loop) => {
          if (loop !== "Lazarus") return;
          started();
          await released;
        },
        passFinished: (loop) => {
          if (loop === "Lazarus") events.push("pass finished");
        },
      },
    });
    running.push(towel);
    await passStarted;
    const stopped = towel.stop().then(() => events.push("stopped"));
    await new Promise((resolve) => setTimeout(resolve, 300));
    events.push("released");
    release();
    await stopped;
    expect(events).toEqual(["released", "pass finished", "stopped"]);
    expect(logs.lines.map((line) => line.msg)).toContain("towel stopped");
  });
});
