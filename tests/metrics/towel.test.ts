// The towel's GET /metrics (services.towel.metrics_host / metrics_port): the flow runs' figures against seeded runs
// (runs by state, due and late runs, the queue per label, stale heartbeats, runs finished lately), its loop passes
// (durations by outcome, the rows they report), the cloud-hook deliveries by outcome and the outbox relay, and its
// pool; behind the basic credentials when an auth string is set.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pino, type Logger } from "pino";
import type { CloudHookEvent } from "../../services/domain/src/cloud_hooks/events.ts";
import { LATE_AFTER_SECONDS } from "../../services/domain/src/run_metrics.ts";
import { start, startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { loop } from "../../services/towel/src/loop.ts";
import { LAZARUS } from "../../services/towel/src/loops/lazarus.ts";
import { cloudHookDeliveryWorker } from "../../services/towel/src/workers.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { scrape, value, type Sample } from "../helpers/metrics.ts";
import { Receiver } from "../helpers/receiver.ts";
import { useTestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";
import { captureLogs, towelConfig } from "../towel/harness.ts";
import { insertRun, setFlowRunState } from "../towel/fixtures.ts";

const AUTH = "admin:towel-s3cret";
const basic = `Basic ${Buffer.from(AUTH).toString("base64")}`;
const silent = pino({ level: "silent" }) as Logger;

const db = useTestDatabase();
const redis = useTestRedis();
const receiver = new Receiver();
let towel: RunningTowel;
let origin: string;

const config = (env: Record<string, string> = {}) =>
  towelConfig({
    PREFECT_SERVER__DATABASE__CONNECTION_URL: db.url,
    PREFECT_SERVER__REDIS__URL: redis.url,
    PREFECT_SERVER__QUEUE__PREFIX: redis.prefix,
    PREFECT_SERVER__SERVICES__TOWEL__METRICS_HOST: "127.0.0.1",
    PREFECT_SERVER__SERVICES__TOWEL__METRICS_PORT: "0",
    PREFECT_SERVER__LOGGING__LEVEL: "silent",
    ...env,
  });

/** A run put into a scheduled state starting `secondsFromNow` from now, with these labels. */
async function scheduledRun(secondsFromNow: number, labels: string[]): Promise<string> {
  const run = await insertRun(db.pool, { state: "Pending", heartbeatAgeSeconds: null });
  await db.pool.query("update flow_run set labels = $2 where id = $1", [run.flowRunId, JSON.stringify(labels)]);
  await setFlowRunState(db.pool, run.flowRunId, "Scheduled", new Date(Date.now() + secondsFromNow * 1000).toISOString());
  return run.flowRunId;
}

beforeAll(async () => {
  await receiver.start();
  // the loops of the towel below run at their configured intervals and touch none of these runs: Lazarus is off for
  // the stale Running run, the stale Submitted one has heartbeats off, no flow has a schedule
  await scheduledRun(-5 * 60, ["gpu"]); // due for five minutes: late
  await scheduledRun(-1, ["gpu", "eu"]); // due, not late
  await scheduledRun(-2, []); // due, no labels
  await scheduledRun(3600, ["gpu"]); // not due yet
  await insertRun(db.pool, { state: "Running", heartbeatAgeSeconds: 3600, settings: { lazarus_enabled: false } });
  await insertRun(db.pool, { state: "Running", heartbeatAgeSeconds: 5 });
  await insertRun(db.pool, { state: "Submitted", heartbeatAgeSeconds: 3600, settings: { heartbeat_enabled: false } });
  await insertRun(db.pool, { state: "Success", heartbeatAgeSeconds: null });
  towel = await start(config(), silent);
  origin = `http://127.0.0.1:${towel.metricsAddress!.port}`;
});

afterAll(async () => {
  await towel?.stop();
  await receiver.stop();
});

describe("the flow runs' figures", () => {
  test("by state, due and late, per label, stale heartbeats, finished lately", async () => {
    const all = await scrape(origin);
    const runs = (name: string, labels: Record<string, string> = {}) => value(all, `prefect_server_${name}`, labels);
    expect(runs("flow_runs", { state: "Scheduled" })).toBe(4);
    expect(runs("flow_runs", { state: "Running" })).toBe(2);
    expect(runs("flow_runs", { state: "Submitted" })).toBe(1);
    expect(runs("flow_runs", { state: "Cancelling" })).toBe(0);
    expect(runs("flow_runs", { state: "Success" })).toBeUndefined(); // finished runs are not counted ...
    expect(runs("flow_runs_finished_last_hour", { state: "Success" })).toBe(1); // ... but those of the last hour are
    expect(runs("flow_runs_finished_last_hour", { state: "Failed" })).toBe(0);
    expect(runs("flow_runs_due")).toBe(3);
    expect(runs("flow_runs_late")).toBe(1);
    expect(runs("flow_runs_oldest_due_seconds")).toBeGreaterThanOrEqual(5 * 60);
    expect(LATE_AFTER_SECONDS).toBeLessThan(5 * 60);
    expect(runs("flow_run_queue_depth", { label: "gpu" })).toBe(2);
    expect(runs("flow_run_queue_depth", { label: "eu" })).toBe(1);
    expect(runs("flow_run_queue_depth", { label: "" })).toBe(1);
    expect(runs("flow_runs_heartbeat_stale", { state: "Running" })).toBe(1);
    expect(runs("flow_runs_heartbeat_stale", { state: "Submitted" })).toBe(0);
    expect(runs("flow_runs_heartbeat_stale", { state: "Cancelling" })).toBe(0);
    expect(runs("db_pool_max_connections", { pool: "towel" })).toBeGreaterThan(0);
  });

  test("/health answers on the same port", async () => {
    expect((await fetch(`${origin}/health`)).status).toBe(200);
  });

  test("with an auth string set, /metrics needs the basic credentials", async () => {
    const locked = await start(config({ PREFECT_SERVER_API_AUTH_STRING: AUTH }), silent);
    try {
      const lockedOrigin = `http://127.0.0.1:${locked.metricsAddress!.port}`;
      expect((await fetch(`${lockedOrigin}/metrics`)).status).toBe(401);
      expect((await fetch(`${lockedOrigin}/health`)).status).toBe(200);
      await expect(scrape(lockedOrigin, { authorization: basic })).resolves.not.toEqual([]);
    } finally {
      await locked.stop();
    }
  });

  test("with metrics off the towel listens on no port", async () => {
    const quiet = await start(config({ PREFECT_SERVER__SERVICES__METRICS__ENABLED: "false" }), silent);
    await quiet.stop();
    expect(quiet.metricsAddress).toBeUndefined();
  });
});

describe("the towel's own work", () => {
  test("loop passes: their durations by outcome, and the rows they report", async () => {
    const failing = loop("Failing", "towel-metrics-failing", () => 1, () => Promise.reject(new Error("this pass always fails")));
    const run = await insertRun(db.pool, { state: "Running", heartbeatAgeSeconds: 3600 }); // Lazarus reschedules it
    const logs = captureLogs();
    const debug = await startTowel(config({ PREFECT_SERVER__SERVICES__TOWEL__DEBUG_MODE: "true" }), logs.root as Logger, {
      workers: [LAZARUS, failing],
      loggerFor: logs.loggerFor,
    });
    const passes = (all: Sample[], loopName: string, outcome: string) => value(all, "prefect_server_towel_pass_duration_seconds_count", { loop: loopName, outcome }) ?? 0;
    try {
      await waitFor("a Lazarus pass that rescheduled the run and a failed pass", async () => {
        const all = await scrape(origin);
        return (value(all, "prefect_server_towel_pass_rows_total", { loop: "Lazarus", kind: "rescheduled" }) ?? 0) >= 1 && passes(all, "Failing", "error") >= 1;
      }, 30_000);
    } finally {
      await debug.stop();
    }
    const all = await scrape(origin);
    expect(passes(all, "Lazarus", "ok")).toBeGreaterThanOrEqual(1);
    expect(passes(all, "Failing", "ok")).toBe(0);
    expect((await db.pool.query("select state from flow_run where id = $1", [run.flowRunId])).rows[0].state).toBe("Scheduled");
  });

  test("cloud-hook deliveries by outcome: delivered, retrying, failed (the last attempt), dropped", async () => {
    const run = await insertRun(db.pool, { state: "Running" });
    const { rows } = await db.pool.query<{ id: string }>("insert into cloud_hook (tenant_id, type, states, config) values ($1, 'WEBHOOK', '[\"FAILED\"]', $2) returning id", [
      run.tenantId,
      JSON.stringify({ url: `${receiver.url}/hook` }),
    ]);
    const event = {
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      type: "FlowRunStateChange",
      flow_run: { id: run.flowRunId, state: "Failed", name: null, version: 1, flow: { id: run.flowId, name: "f", flow_group_id: null, version_group_id: null }, tenant: { id: run.tenantId, slug: "t" } },
      state: { state: "Failed" },
      flow: { id: run.flowId, name: "f", flow_group_id: null, version_group_id: null },
      tenant: { id: run.tenantId, slug: "t" },
      is_test_event: false,
    } satisfies CloudHookEvent;
    const worker = cloudHookDeliveryWorker();
    const context = { db: db.pool, config: config(), loggerFor: () => silent, hooks: {} };
    const attempt = (hookId: string, attemptsMade: number) => worker.process({ name: "deliver", data: { event, hook_id: hookId }, attemptsMade, opts: { attempts: 5 } }, context);
    const deliveries = async (outcome: string) => value(await scrape(origin), "prefect_server_cloud_hook_deliveries_total", { outcome }) ?? 0;
    const before = { delivered: await deliveries("delivered"), retrying: await deliveries("retrying"), failed: await deliveries("failed"), dropped: await deliveries("dropped") };

    await attempt(rows[0]!.id, 0);
    receiver.failures = [500];
    await expect(attempt(rows[0]!.id, 1)).rejects.toThrow(/HTTP 500/);
    receiver.failures = [500];
    await expect(attempt(rows[0]!.id, 4)).rejects.toThrow(/HTTP 500/);
    await attempt(randomUUID(), 0); // no such hook

    expect((await deliveries("delivered")) - before.delivered).toBe(1);
    expect((await deliveries("retrying")) - before.retrying).toBe(1);
    expect((await deliveries("failed")) - before.failed).toBe(1);
    expect((await deliveries("dropped")) - before.dropped).toBe(1);
  });

  test("the outbox relay: a state change owing a delivery is counted enqueued, then delivered", async () => {
    const run = await insertRun(db.pool, { state: "Running" });
    await db.pool.query("insert into cloud_hook (tenant_id, type, states, config) values ($1, 'WEBHOOK', '[\"FAILED\"]', $2)", [
      run.tenantId,
      JSON.stringify({ url: `${receiver.url}/relayed` }),
    ]);
    const relayed = async () => value(await scrape(origin), "prefect_server_outbox_relayed_total", { result: "enqueued" }) ?? 0;
    const before = await relayed();
    await setFlowRunState(db.pool, run.flowRunId, "Failed");
    await waitFor("the delivery", () => receiver.requests.some((request) => request.path === "/relayed"), 30_000);
    expect((await relayed()) - before).toBe(1);
  });
});
