// The towel on a Redis that restarts (and loses every key) under it, and on BullMQ's Postgres backend (its loops and
// the cloud-hook deliveries).
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Logger } from "../../services/shared/src/logger.ts";
import { startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { postgresQueueSchema } from "../../services/towel/src/queues.ts";
import { cloudHookDeliveryWorker } from "../../services/towel/src/workers.ts";
import { createMutationsService } from "../../services/mutations/src/server.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { captureLogs, PassRecorder, PrivateRedis, towelConfig } from "./harness.ts";
import { waitFor } from "../helpers/wait.ts";
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

  test("cloud-hook deliveries go through it too: the API enqueues in Postgres, the towel's worker delivers", { timeout: 60_000 }, async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const logs = captureLogs();
    const config = towelConfig({
      PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
      PREFECT_SERVER__QUEUE__BACKEND: "postgres",
      PREFECT_SERVER__QUEUE__PREFIX: "towel-hooks",
    });
    const service = await createMutationsService({ db: db.pool, config, log: logs.root as Logger });
    const towel = await startTowel(config, logs.root as Logger, { db: db.pool, workers: [cloudHookDeliveryWorker()], loggerFor: logs.loggerFor });
    running.push(towel);
    try {
      const run = await insertRun(db.pool, { state: "Running" });
      await db.pool.query("insert into cloud_hook (tenant_id, type, states, config) values ($1, 'WEBHOOK', '[\"FAILED\"]', $2)", [run.tenantId, JSON.stringify({ url })]);
      const result = await service.apollo.executeOperation(
        {
          query: `mutation($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { status } } }`,
          variables: { input: { states: [{ flow_run_id: run.flowRunId, state: { type: "Failed", message: "boom" } }] } },
        },
        { contextValue: service.context() },
      );
      expect(result.body.kind === "single" && result.body.singleResult.errors).toBeUndefined();
      await waitFor("the delivery", () => received.length > 0, 30_000);
      const body = JSON.parse(received[0]!.body) as { event: { id: string; flow_run: { id: string }; state: { state: string } } };
      expect(body.event).toMatchObject({ flow_run: { id: run.flowRunId }, state: { state: "Failed" } });
      expect(received[0]!.headers["x-prefect-event-id"]).toBe(body.event.id);
      const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from ${postgresQueueSchema("towel-hooks")}.job where queue = 'cloud-hooks'`);
      expect(rows[0]!.n).toBeGreaterThan(0);
    } finally {
      await towel.stop();
      await service.stop();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
