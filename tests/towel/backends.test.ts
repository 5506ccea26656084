// The towel on a Redis that restarts (and loses every key) under it, and on BullMQ's Postgres backend.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Logger } from "../../services/shared/src/logger.ts";
import { startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { postgresQueueSchema } from "../../services/towel/src/queues.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { captureLogs, intervalSchedules, PassRecorder, PrivateRedis, towelConfig, waitFor } from "./harness.ts";
import { insertRun } from "./fixtures.ts";

const db = useTestDatabase();
const LOOPS = ["Lazarus", "ZombieKiller"];
const running: RunningTowel[] = [];

afterAll(async () => {
  await Promise.all(running.map((towel) => towel.stop()));
});

describe("Redis restarted mid-test", () => {
  const redis = new PrivateRedis();
  beforeAll(() => redis.start());
  afterAll(() => redis.dispose());
  const config = () =>
    towelConfig({
      PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
      PREFECT_SERVER__REDIS__URL: redis.url,
      PREFECT__LOOP_SERVICE__DEBUG_MODE: "true",
    });

  test("the loops resume by themselves", { timeout: 90_000 }, async () => {
    const recorder = new PassRecorder();
    const logs = captureLogs();
    const towel = await startTowel(config(), logs.root as Logger, { hooks: recorder.hooks("only"), loggerFor: logs.loggerFor });
    try {
      await waitFor("2 passes of every loop", () => LOOPS.every((loop) => recorder.finished(loop).length >= 2));

      await redis.stop();
      await redis.start(); // same port, empty: the schedulers and settings are gone
      const restarted = Date.now();
      const run = await insertRun(db.pool);

      await waitFor("2 passes of every loop after the restart", () => LOOPS.every((loop) => recorder.finished(loop, restarted).length >= 2));
      await waitFor("the lost run rescheduled", async () => (await db.pool.query("select state from flow_run where id = $1", [run.flowRunId])).rows[0]?.state === "Scheduled");
      expect(logs.lines.map((line) => line.msg)).toContain("Queue connection re-established; re-creating the loop schedulers.");
    } finally {
      await towel.stop();
    }
    for (const loop of LOOPS) expect(recorder.overlaps(loop)).toEqual([]);
  });

  test("stop() returns even when Redis is gone", { timeout: 90_000 }, async () => {
    const recorder = new PassRecorder();
    const logs = captureLogs();
    const towel = await startTowel(config(), logs.root as Logger, { hooks: recorder.hooks("only"), loggerFor: logs.loggerFor });
    running.push(towel);
    await waitFor("a pass", () => recorder.finished("Lazarus").length >= 1);
    await redis.stop();
    await towel.stop();
    expect(logs.lines.map((line) => line.msg)).toContain("towel stopped");
  });
});

describe("BullMQ's Postgres backend", () => {
  test("runs passes of every loop with no Redis at all", { timeout: 90_000 }, async () => {
    const recorder = new PassRecorder();
    const logs = captureLogs();
    const config = towelConfig({
      PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
      PREFECT_SERVER__REDIS__URL: "",
      PREFECT_SERVER__QUEUE__PREFIX: "towel-test",
      PREFECT__LOOP_SERVICE__DEBUG_MODE: "true",
    });
    const run = await insertRun(db.pool, { state: "Cancelling" });
    const towel = await startTowel(config, logs.root as Logger, {
      scheduleSource: intervalSchedules,
      hooks: recorder.hooks("pg"),
      loggerFor: logs.loggerFor,
    });
    running.push(towel);
    await waitFor("2 passes of every loop", () => ["Scheduler", ...LOOPS].every((loop) => recorder.finished(loop).length >= 2));
    await towel.stop();

    expect(logs.lines.find((line) => line.msg === "towel started")).toMatchObject({ backend: "postgres" });
    expect((await db.pool.query("select state from flow_run where id = $1", [run.flowRunId])).rows[0]).toEqual({ state: "Failed" });
    const schema = postgresQueueSchema("towel-test");
    expect(schema).toBe("towel_test_bullmq");
    const { rows } = await db.pool.query<{ queue: string; every_ms: string }>(
      `select queue, every_ms::text from ${schema}.scheduler order by queue`,
    );
    expect(rows).toEqual([
      { queue: "towel-lazarus", every_ms: "1000" },
      { queue: "towel-scheduler", every_ms: "1000" },
      { queue: "towel-zombie-killer", every_ms: "1000" },
    ]);
    for (const loop of ["Scheduler", ...LOOPS]) expect(recorder.overlaps(loop)).toEqual([]);
  });
});
