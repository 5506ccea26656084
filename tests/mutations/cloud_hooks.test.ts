/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL results, rows and received bodies are read field by field; their shape is what the tests assert */
// Cloud hooks (docs/v1-compatibility.md, Cloud hooks; acceptance checks 56, 57): the mutations, which state changes
// owe which deliveries (outbox rows written with the state, one BullMQ job per (event, hook) once the relay moved
// them, on the test's Redis prefix), delivery by the towel's worker to a local HTTP receiver with retries, every hook
// type's payload, and state writes that never depend on Redis: what Redis lost is enqueued again.
import { Queue } from "bullmq";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { deliverCloudHook } from "../../services/domain/src/cloud_hooks/delivery.ts";
import { CLOUD_HOOK_QUEUE } from "../../services/domain/src/cloud_hooks/events.ts";
import { pruneOutbox, relayOutbox } from "../../services/domain/src/cloud_hooks/outbox.ts";
import { pruneLogBatchReceipts } from "../../services/domain/src/logs.ts";
import { createCloudHook, setCloudHookActive } from "../../services/domain/src/cloud_hooks/hooks.ts";
import { cloudHookWorker } from "../../services/domain/src/cloud_hooks/worker.ts";
import type { Logger } from "../../services/shared/src/logger.ts";
import { createJobProducer, type JobProducer } from "../../services/shared/src/queues.ts";
import { startTowel, type RunningTowel } from "../../services/towel/src/index.ts";
import { runLazarus } from "../../services/domain/src/towel/lazarus.ts";
import { runScheduler } from "../../services/domain/src/towel/scheduler.ts";
import { runZombieKiller } from "../../services/domain/src/towel/zombie_killer.ts";
import { cloudHookDeliveryWorker } from "../../services/towel/src/workers.ts";
import { Receiver } from "../helpers/receiver.ts";
import { useTestRedis } from "../helpers/redis.ts";
import { captureLogs, PrivateRedis, towelConfig } from "../towel/harness.ts";
import { waitFor } from "../helpers/wait.ts";
import { createFlow, createFlowRun, createTenant, setFlowRunState, setupFlow, testConfig, unique, useMutations } from "./helpers.ts";

const redis = useTestRedis();
const h = useMutations({ env: { PREFECT_SERVER__REDIS__URL: redis.url, PREFECT_SERVER__QUEUE__PREFIX: redis.prefix } });

const CREATE = `mutation($input: create_cloud_hook_input!) { create_cloud_hook(input: $input) { id } }`;
const TEST = `mutation($input: test_cloud_hook_input!) { test_cloud_hook(input: $input) { success error } }`;
const DELETE = `mutation($input: delete_cloud_hook_input!) { delete_cloud_hook(input: $input) { success error } }`;
const ACTIVE = `mutation($input: set_cloud_hook_active_input!) { set_cloud_hook_active(input: $input) { success error } }`;
const INACTIVE = `mutation($input: set_cloud_hook_inactive_input!) { set_cloud_hook_inactive(input: $input) { success error } }`;
const CANCEL = `mutation($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`;

const receiver = new Receiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.stop());
afterEach(() => receiver.reset());

// ---- helpers ------------------------------------------------------------------------------------------------

let queue: Queue | undefined;
const jobsQueue = () => (queue ??= new Queue(CLOUD_HOOK_QUEUE, { connection: redis.client, prefix: redis.prefix }));
let producer: JobProducer | undefined;
/** One relay pass, as a towel replica runs it, onto the test's queue. */
const relay = (options: { reenqueueAfterSeconds?: number } = {}) =>
  relayOutbox(h.db, (producer ??= createJobProducer(h.config, CLOUD_HOOK_QUEUE)), options);
afterAll(async () => {
  await queue?.close();
  await producer?.close();
});
const outboxOf = async (hookId: string) =>
  (await h.db.query("select state_id::text, enqueued is not null as enqueued, done is not null as done, outcome from internal.outbox where hook_id = $1 order by id", [hookId])).rows;

/** The delivery jobs waiting for one hook after a relay pass (no worker runs in these tests unless a towel is started). */
async function jobsOf(hookId: string): Promise<{ id: string; data: any; opts: any }[]> {
  await relay();
  const jobs = await jobsQueue().getJobs(["waiting", "delayed", "prioritized"]);
  return jobs.filter((job) => job.data.hook_id === hookId).map((job) => ({ id: job.id!, data: job.data, opts: job.opts }));
}

async function hook(tenantId: string, states: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const data = await h.ok(CREATE, { input: { tenant_id: tenantId, type: "WEBHOOK", states, config: { url: `${receiver.url}/hook` }, ...extra } });
  return data.create_cloud_hook.id;
}

async function runOf(flowId: string): Promise<string> {
  return createFlowRun(h, { flow_id: flowId });
}

const storedHook = async (id: string) => (await h.db.query("select * from cloud_hook where id = $1", [id])).rows[0];

// ---- the mutations --------------------------------------------------------------------------------------------

describe("create_cloud_hook and friends (check 56)", () => {
  test("states are uppercased and deduplicated; the hook starts active", async () => {
    const tenantId = await createTenant(h);
    const id = await hook(tenantId, ["Running", "running", "Pending"], { name: "my hook", version_group_id: "vg" });
    expect(await storedHook(id)).toMatchObject({
      tenant_id: tenantId,
      name: "my hook",
      type: "WEBHOOK",
      states: ["RUNNING", "PENDING"],
      config: { url: `${receiver.url}/hook` },
      active: true,
      version_group_id: "vg",
    });
  });

  test("v1's validation errors, in v1's order", async () => {
    const tenantId = await createTenant(h);
    const create = (input: Record<string, unknown>) => h.error(CREATE, { input: { tenant_id: tenantId, type: "WEBHOOK", states: ["RUNNING"], config: { url: "http://x" }, ...input } });
    expect(await create({ states: ["test-url"] })).toBe("Invalid states");
    expect(await create({ states: [] })).toBe("Invalid states");
    expect(await create({ states: ["test-url"], config: {} })).toBe("Invalid states");
    expect(await create({ config: {} })).toBe("Invalid config; expected `url`");
    expect(await create({ config: null })).toBe("Invalid config; expected `url`");
    expect(await create({ config: { url: "http://x", extra: 1 } })).toBe("Invalid config; expected `url`");
    expect(await create({ type: "SLACK_WEBHOOK", config: { uri: "http://x" } })).toBe("Invalid config; expected `url`");
    const twilio = "Invalid config; expected `account_sid`, `auth_token`, `messaging_service_sid`, and `to`";
    expect(await create({ type: "TWILIO", config: { account_sid: "a", auth_token: "b", messaging_service_sid: "c" } })).toBe(twilio);
    expect(await create({ type: "TWILIO", config: { account_sid: "a", auth_token: "b", messaging_service_sid: "c", to: [] } })).toBe(twilio);
    const pagerDuty = "Invalid config; expected `api_token`, `routing_key`, & `severity`";
    expect(await create({ type: "PAGERDUTY", config: { api_token: "a", routing_key: "b" } })).toBe(pagerDuty);
    expect(await create({ type: "PAGERDUTY", config: { api_token: "a", routing_key: "b", severity: "fatal" } })).toBe(
      "Invalid config; severity must be one of {info, warning, error, critical}",
    );
    // what the GraphQL types already refuse, checked on the API function
    await expect(createCloudHook(h.db, { tenant_id: null, type: "WEBHOOK", states: ["RUNNING"], config: { url: "http://x" } })).rejects.toThrow("Invalid tenant ID");
    await expect(createCloudHook(h.db, { tenant_id: tenantId, type: "CARRIER_PIGEON", states: ["RUNNING"], config: {} })).rejects.toThrow("Invalid cloud hook type");
    expect((await h.db.query("select count(*)::int as n from cloud_hook where tenant_id = $1", [tenantId])).rows[0].n).toBe(0);
  });

  test("every type with a valid config; PREFECT_MESSAGE without config stores {}", async () => {
    const tenantId = await createTenant(h);
    const ok = async (type: string, config?: unknown) =>
      (await h.ok(CREATE, { input: { tenant_id: tenantId, type, states: ["FAILED"], ...(config === undefined ? {} : { config }) } })).create_cloud_hook.id as string;
    await ok("SLACK_WEBHOOK", { url: "http://slack" });
    await ok("TWILIO", { account_sid: "a", auth_token: "b", messaging_service_sid: "c", to: ["+15555555555"] });
    await ok("PAGERDUTY", { api_token: "a", routing_key: "b", severity: "critical" });
    expect((await storedHook(await ok("PREFECT_MESSAGE"))).config).toEqual({});
  });

  test("set_cloud_hook_inactive / active and delete_cloud_hook; unknown ids → false", async () => {
    const id = await hook(await createTenant(h), ["FAILED"]);
    expect((await h.ok(INACTIVE, { input: { cloud_hook_id: id } })).set_cloud_hook_inactive).toEqual({ success: true, error: null });
    expect((await storedHook(id)).active).toBe(false);
    expect((await h.ok(ACTIVE, { input: { cloud_hook_id: id } })).set_cloud_hook_active.success).toBe(true);
    expect((await storedHook(id)).active).toBe(true);
    expect((await h.ok(DELETE, { input: { cloud_hook_id: id } })).delete_cloud_hook.success).toBe(true);
    expect(await storedHook(id)).toBeUndefined();
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await h.ok(DELETE, { input: { cloud_hook_id: unknown } })).delete_cloud_hook.success).toBe(false);
    expect((await h.ok(ACTIVE, { input: { cloud_hook_id: unknown } })).set_cloud_hook_active.success).toBe(false);
  });
});

// ---- which state changes fire ---------------------------------------------------------------------------------

describe("firing on flow-run state changes (check 56)", () => {
  test("exact states only: RUNNING fires on Running, not Scheduled; PENDING not on Scheduled; TRIGGERFAILED not on Failed", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const running = await hook(tenantId, ["RUNNING"]);
    const pending = await hook(tenantId, ["PENDING"]);
    const triggerFailed = await hook(tenantId, ["TRIGGERFAILED"]);
    const failed = await hook(tenantId, ["FAILED"]);
    const runId = await runOf(flowId);
    expect(await jobsOf(running)).toEqual([]);
    expect(await jobsOf(pending)).toEqual([]);

    await setFlowRunState(h, runId, "Running");
    const [job, ...more] = await jobsOf(running);
    expect(more).toEqual([]);
    const stateRow = (await h.db.query("select id, version from flow_run_state where flow_run_id = $1 and state = 'Running'", [runId])).rows[0];
    expect(job!.id).toBe(`${stateRow.id}.${running}`);
    expect(job!.opts).toMatchObject({ attempts: 5, backoff: { type: "exponential", delay: 1000 } });
    expect(job!.data.event).toMatchObject({
      id: stateRow.id,
      type: "FlowRunStateChange",
      flow_run: { id: runId, state: "Scheduled", version: 1, flow: { id: flowId }, tenant: { id: tenantId } },
      state: { id: stateRow.id, flow_run_id: runId, version: 2, state: "Running", message: "Running state", serialized_state: { type: "Running" } },
      flow: { id: flowId, version_group_id: expect.any(String) },
      tenant: { id: tenantId, slug: expect.any(String) },
      is_test_event: false,
    });

    await setFlowRunState(h, runId, "Failed");
    expect(await jobsOf(triggerFailed)).toEqual([]);
    expect(await jobsOf(failed)).toHaveLength(1);
    expect(await jobsOf(pending)).toEqual([]);
  });

  test("version_group_id filter, inactive hooks and other tenants' hooks are ignored", async () => {
    const { tenantId, projectId, flowId } = await setupFlow(h);
    const versionGroup = (await h.db.query("select version_group_id from flow where id = $1", [flowId])).rows[0].version_group_id;
    const mine = await hook(tenantId, ["RUNNING"], { version_group_id: versionGroup });
    const elsewhere = await hook(tenantId, ["RUNNING"], { version_group_id: "some-other-group" });
    const inactive = await hook(tenantId, ["RUNNING"]);
    await setCloudHookActive(h.db, inactive, false);
    const otherTenant = await hook(await createTenant(h), ["RUNNING"]);
    const otherFlow = await createFlow(h, projectId);

    await setFlowRunState(h, await runOf(flowId), "Running");
    await setFlowRunState(h, await runOf(otherFlow), "Running");
    expect(await jobsOf(mine)).toHaveLength(1);
    expect(await jobsOf(elsewhere)).toEqual([]);
    expect(await jobsOf(inactive)).toEqual([]);
    expect(await jobsOf(otherTenant)).toEqual([]);
  });

  test("a batch fires once per matching item; a failed batch fires nothing", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const id = await hook(tenantId, ["SUCCESS"]);
    const runs = [await runOf(flowId), await runOf(flowId)];
    const batch = (items: { flow_run_id: string; state: unknown }[]) =>
      h.gql(`mutation($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id } } }`, { input: { states: items } });
    await batch([
      { flow_run_id: runs[0]!, state: { type: "Success", message: "done" } },
      { flow_run_id: runs[1]!, state: { type: "Running", message: "go" } },
      { flow_run_id: runs[1]!, state: { type: "Success", message: "done" } },
    ]);
    const jobs = await jobsOf(id);
    expect(jobs.map((job) => job.data.event.flow_run.id).sort()).toEqual([...runs].sort());
    // the second run's previous state is the Running written earlier in the same batch
    expect(jobs.find((job) => job.data.event.flow_run.id === runs[1])!.data.event.flow_run).toMatchObject({ state: "Running", version: 2 });

    const failing = await batch([
      { flow_run_id: runs[0]!, state: { type: "Success" } },
      { flow_run_id: "00000000-0000-4000-8000-000000000000", state: { type: "Success" } },
    ]);
    expect(failing.errors?.[0]?.message).toMatch(/^State update failed for flow run ID/);
    expect(await jobsOf(id)).toHaveLength(2);
  });

  test("run creation's Scheduled state, cancel_flow_run, archive_flow, set_schedule_active and the towel's passes fire too", async () => {
    const { tenantId, projectId, flowId } = await setupFlow(h);
    const scheduled = await hook(tenantId, ["SCHEDULED"]);
    const cancelled = await hook(tenantId, ["CANCELLED"]);
    const failed = await hook(tenantId, ["FAILED"]);

    const manual = await runOf(flowId);
    expect((await jobsOf(scheduled)).map((job) => job.data.event.flow_run)).toEqual([expect.objectContaining({ id: manual, state: null, version: 0 })]);
    await h.ok(CANCEL, { input: { flow_run_id: manual } });
    expect((await jobsOf(cancelled)).map((job) => job.data.event.state.message)).toEqual(["Flow run is cancelled"]);

    // archive_flow cancels the flow's manual Scheduled runs
    const archivedFlow = await createFlow(h, projectId);
    const waiting = await runOf(archivedFlow);
    await h.ok(`mutation($input: archive_flow_input!) { archive_flow(input: $input) { success } }`, { input: { flow_id: archivedFlow } });
    expect((await jobsOf(cancelled)).map((job) => job.data.event.flow_run.id)).toContain(waiting);

    // schedules: set_schedule_active (API) and a scheduler pass (towel)
    const scheduledFlow = await createFlow(h, projectId, { schedule: { type: "Schedule", clocks: [{ type: "IntervalClock", interval: 3_600_000_000 }] } });
    await h.ok(`mutation($input: set_schedule_active_input!) { set_schedule_active(input: $input) { success } }`, { input: { flow_id: scheduledFlow } });
    expect((await jobsOf(scheduled)).filter((job) => job.data.event.flow.id === scheduledFlow)).toHaveLength(10);
    await h.db.query("delete from flow_run where flow_id = $1", [scheduledFlow]);
    expect(await runScheduler(h.db, { maxRunsPerFlow: 3 })).toMatchObject({ runsCreated: 3 });
    expect((await jobsOf(scheduled)).filter((job) => job.data.event.flow.id === scheduledFlow)).toHaveLength(13);

    // Lazarus: a lost Running run with its resurrections used up becomes Failed
    const lost = await runOf(flowId);
    await setFlowRunState(h, lost, "Running");
    await h.db.query("update flow_run set heartbeat = now() - interval '1 hour', times_resurrected = 3 where id = $1", [lost]);
    expect(await runLazarus(h.db, { resurrectionAttemptLimit: 3 })).toMatchObject({ failed: 1 });
    expect((await jobsOf(failed)).map((job) => job.data.event)).toEqual([
      expect.objectContaining({ flow_run: expect.objectContaining({ id: lost, state: "Running" }), state: expect.objectContaining({ state: "Failed" }) }),
    ]);

    // ZombieKiller: a Cancelling run with a stale heartbeat becomes Failed
    const zombie = await runOf(flowId);
    await setFlowRunState(h, zombie, "Cancelling");
    await h.db.query("update flow_run set heartbeat = now() - interval '1 hour' where id = $1", [zombie]);
    expect(await runZombieKiller(h.db)).toMatchObject({ flowRunsFailed: 1 });
    expect((await jobsOf(failed)).map((job) => job.data.event.flow_run)).toContainEqual(expect.objectContaining({ id: zombie, state: "Cancelling" }));
  });

  test("the delivery is owed in the state's transaction, and enqueueing it twice adds one job (<event id>.<hook id>)", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const id = await hook(tenantId, ["RUNNING"]);
    const runId = await runOf(flowId);
    await setFlowRunState(h, runId, "Running");
    const stateId = (await h.db.query("select id::text from flow_run_state where flow_run_id = $1 and state = 'Running'", [runId])).rows[0].id;
    expect(await outboxOf(id)).toEqual([{ state_id: stateId, enqueued: false, done: false, outcome: null }]);
    expect(await jobsOf(id)).toHaveLength(1);
    expect(await outboxOf(id)).toEqual([{ state_id: stateId, enqueued: true, done: false, outcome: null }]);
    // a relay that died after adding the job, before recording it: the next pass adds it again, a no-op
    await h.db.query("update internal.outbox set enqueued = null where hook_id = $1", [id]);
    expect(await jobsOf(id)).toHaveLength(1);
  });
});

describe("pruning", () => {
  test("done outbox rows and log batch receipts older than their keep time go; pending rows stay", async () => {
    const old = "now() - interval '2 hours'";
    await h.db.query(`insert into internal.outbox (state_id, hook_id, done, outcome) values (gen_random_uuid(), gen_random_uuid(), ${old}, 'delivered'),
                      (gen_random_uuid(), gen_random_uuid(), now(), 'delivered')`);
    await h.db.query(`insert into internal.outbox (state_id, hook_id, created) values ('77777777-7777-4777-8777-777777777777', gen_random_uuid(), ${old})`);
    await h.db.query(`insert into internal.log_batch_receipt (digest, created) values ('\\x01', ${old}), ('\\x02', now())`);
    expect(await pruneOutbox(h.db)).toBe(1);
    expect(await pruneLogBatchReceipts(h.db)).toBe(1);
    expect((await h.db.query("select count(*)::int as n from internal.outbox where state_id = '77777777-7777-4777-8777-777777777777' and done is null")).rows[0].n).toBe(1);
    expect((await h.db.query("select digest from internal.log_batch_receipt where digest in ('\\x01', '\\x02')")).rows).toEqual([{ digest: Buffer.from([2]) }]);
    await h.db.query("delete from internal.outbox where state_id = '77777777-7777-4777-8777-777777777777'");
  });
});

// ---- delivery ---------------------------------------------------------------------------------------------------

describe("delivery by the towel's worker", () => {
  let towel: RunningTowel | undefined;
  const logs = captureLogs();
  beforeAll(async () => {
    // the jobs the tests above left waiting are not for this worker
    await jobsQueue().obliterate({ force: true });
    const config = towelConfig({ PREFECT_SERVER__REDIS__URL: redis.url, PREFECT_SERVER__QUEUE__PREFIX: redis.prefix });
    towel = await startTowel(config, logs.root as Logger, {
      db: h.db,
      workers: [cloudHookDeliveryWorker()],
      loggerFor: logs.loggerFor,
    });
  });
  afterAll(async () => {
    await towel?.stop();
  });

  test("WEBHOOK: the v1 payload is POSTed with X-PREFECT-EVENT-ID = event id; the outbox row is done", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const id = await hook(tenantId, ["FAILED"]);
    const runId = await runOf(flowId);
    await setFlowRunState(h, runId, "Running");
    await setFlowRunState(h, runId, "Failed", { message: "boom" });
    await waitFor("the webhook", () => receiver.requests.length >= 1, 20_000);
    const [request] = receiver.requests;
    expect(request!.path).toBe("/hook");
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.json).toEqual({
      event: {
        id: expect.any(String),
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/),
        type: "FlowRunStateChange",
        flow_run: { id: runId, state: "Running", name: expect.any(String), version: 2, flow: expect.objectContaining({ id: flowId }), tenant: expect.objectContaining({ id: tenantId }) },
        state: expect.objectContaining({ flow_run_id: runId, version: 3, state: "Failed", message: "boom", result: null, start_time: null, serialized_state: { type: "Failed", message: "boom" } }),
        flow: { id: flowId, name: expect.any(String), flow_group_id: expect.any(String), version_group_id: expect.any(String) },
        tenant: { id: tenantId, slug: expect.any(String) },
        is_test_event: false,
      },
    });
    expect(request!.headers["x-prefect-event-id"]).toBe(request!.json.event.id);
    await waitFor("the outbox row marked done", async () => (await outboxOf(id))[0]?.done === true, 10_000);
    await waitFor("the delivery logged", () => logs.lines.some((line) => line.name === "prefect-server.CloudHookDelivery" && /^Delivered cloud hook/.test(String(line.msg))), 5_000);
    expect(await outboxOf(id)).toEqual([{ state_id: request!.json.event.id, enqueued: true, done: true, outcome: "delivered" }]);
  });

  test("a receiver that fails twice then succeeds gets exactly one successful delivery, of the same event", { timeout: 30_000 }, async () => {
    const { tenantId, flowId } = await setupFlow(h);
    await hook(tenantId, ["SUCCESS"]);
    receiver.failures = [500, 503];
    await setFlowRunState(h, await runOf(flowId), "Success");
    await waitFor("the third attempt", () => receiver.requests.length >= 3, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 1500)); // nothing more comes
    expect(receiver.requests.map((request) => request.status)).toEqual([500, 503, 200]);
    expect(new Set(receiver.requests.map((request) => request.headers["x-prefect-event-id"])).size).toBe(1);
    expect(logs.lines.filter((line) => line.level === 40 && String(line.msg).includes("will retry"))).toHaveLength(2);
  });

  test("a hook deleted or deactivated before its delivery is dropped, not sent", async () => {
    const worker = cloudHookWorker();
    const { tenantId, flowId } = await setupFlow(h);
    const inactive = await hook(tenantId, ["PAUSED"]);
    await setCloudHookActive(h.db, inactive, false);
    const runId = await runOf(flowId);
    const event = { id: "55555555-5555-4555-8555-555555555555", flow_run: { id: runId }, state: { state: "Paused" } };
    const deps = { db: h.db, config: h.config, log: logs.loggerFor("CloudHookDelivery") };
    expect(await worker.process({ id: "a", data: { event, hook_id: "00000000-0000-4000-8000-000000000000" } }, deps)).toEqual({ delivered: false });
    expect(await worker.process({ id: "b", data: { event, hook_id: inactive } }, deps)).toEqual({ delivered: false });
    expect(receiver.requests).toEqual([]);
    expect(logs.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^Cloud hook 0{8}-.* was deleted before its delivery/), `Cloud hook ${inactive} was deactivated before its delivery; event ${event.id} dropped.`]),
    );
  });
});

// ---- test_cloud_hook (check 57) -------------------------------------------------------------------------------

describe("test_cloud_hook (check 57)", () => {
  test("an invalid URL → {success: false, error: <message>}; an unknown hook → Invalid ID", async () => {
    const tenantId = await createTenant(h);
    const id = (await h.ok(CREATE, { input: { tenant_id: tenantId, type: "WEBHOOK", states: ["FAILED"], config: { url: "test-url" } } })).create_cloud_hook.id;
    const result = (await h.ok(TEST, { input: { cloud_hook_id: id } })).test_cloud_hook;
    expect(result.success).toBe(false);
    expect(result.error).toEqual(expect.any(String));
    expect(result.error.length).toBeGreaterThan(0);
    expect((await h.ok(TEST, { input: { cloud_hook_id: "00000000-0000-4000-8000-000000000000" } })).test_cloud_hook).toEqual({ success: false, error: "Invalid ID" });
  });

  test("a receiver answering 500 → success false with the status", async () => {
    const id = await hook(await createTenant(h), ["FAILED"]);
    receiver.failures = [500];
    expect((await h.ok(TEST, { input: { cloud_hook_id: id } })).test_cloud_hook).toEqual({ success: false, error: expect.stringContaining("HTTP 500") });
  });

  test("without a flow run: a made-up run, is_test_event true, delivered inline", async () => {
    const tenantId = await createTenant(h);
    const id = await hook(tenantId, ["FAILED"]);
    expect((await h.ok(TEST, { input: { cloud_hook_id: id } })).test_cloud_hook).toEqual({ success: true, error: null });
    expect(receiver.requests).toHaveLength(1);
    const { event } = receiver.requests[0]!.json;
    expect(event).toMatchObject({
      type: "FlowRunStateChange",
      is_test_event: true,
      flow: { name: "Cloud Hook Test Flow" },
      tenant: { id: tenantId, slug: "test-slug" },
      state: { version: 1, state: "Success", serialized_state: { type: "Success", message: "Test Success state" } },
    });
    expect(Object.keys(event.state).sort()).toEqual(["serialized_state", "state", "version"]);
    expect(receiver.requests[0]!.headers["x-prefect-event-id"]).toBe(event.id);
  });

  test("with a flow run: that run's data, version + 1, is_test_event false; state_type picks the state", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const id = await hook(tenantId, ["RUNNING"]);
    const runId = await runOf(flowId);
    expect((await h.ok(TEST, { input: { cloud_hook_id: id, flow_run_id: runId, state_type: "FAILED" } })).test_cloud_hook).toEqual({ success: true, error: null });
    const { event } = receiver.requests[0]!.json;
    expect(event).toMatchObject({
      is_test_event: false,
      flow_run: { id: runId, state: "Scheduled", version: 2 },
      flow: { id: flowId },
      tenant: { id: tenantId },
      state: { version: 1, state: "Failed", serialized_state: { type: "Failed", message: "Test Failed state" } },
    });
  });
});

// ---- payloads of the other types --------------------------------------------------------------------------------

describe("payloads per type", () => {
  const event: any = {
    id: "11111111-1111-4111-8111-111111111111",
    timestamp: "2024-01-01T00:00:00.000000+00:00",
    type: "FlowRunStateChange",
    flow_run: { id: "22222222-2222-4222-8222-222222222222", state: "Running", name: "brave-otter", version: 2 },
    state: { state: "Failed", message: "it broke", version: 3 },
    flow: { id: "33333333-3333-4333-8333-333333333333", name: "etl", flow_group_id: null, version_group_id: null },
    tenant: { id: "44444444-4444-4444-8444-444444444444", slug: "acme" },
    is_test_event: false,
  };
  const context = () => ({ db: h.db, apiUrl: "http://ui.example/", endpoints: { twilio: receiver.url, pagerDuty: `${receiver.url}/pd` } });
  const link = "http://ui.example/acme/flow-run/22222222-2222-4222-8222-222222222222";

  test("SLACK_WEBHOOK: blocks with the run, flow, state, message and link", async () => {
    await deliverCloudHook({ type: "SLACK_WEBHOOK", config: { url: `${receiver.url}/slack` }, tenant_id: event.tenant.id }, event, context());
    const texts = receiver.requests[0]!.json.blocks.map((block: any) => block.text.text);
    expect(texts).toEqual(["Run `brave-otter` of flow `etl` entered a new state:", "*State:* `Failed`", "*Message:* it broke", `*Link:* ${link}`]);
  });

  test("TWILIO: one form POST per number, basic auth, From = messaging_service_sid", async () => {
    const config = { account_sid: "AC1", auth_token: "secret", messaging_service_sid: "MG1", to: ["+15550001", "+15550002"] };
    await deliverCloudHook({ type: "TWILIO", config, tenant_id: event.tenant.id }, event, context());
    expect(receiver.requests.map((request) => request.path)).toEqual(["/2010-04-01/Accounts/AC1/Messages.json", "/2010-04-01/Accounts/AC1/Messages.json"]);
    const forms = receiver.requests.map((request) => Object.fromEntries(new URLSearchParams(request.body)));
    expect(forms.map((form) => form.To)).toEqual(["+15550001", "+15550002"]);
    expect(forms[0]).toMatchObject({ From: "MG1", Body: expect.stringContaining("brave-otter") });
    expect(forms[0]!.Body).toContain("Failed");
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from("AC1:secret").toString("base64")}`);
    expect(receiver.requests[0]!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  test("PAGERDUTY: Events API v2 trigger with the token header, source and class", async () => {
    await deliverCloudHook({ type: "PAGERDUTY", config: { api_token: "tok", routing_key: "rk", severity: "error" }, tenant_id: event.tenant.id }, event, context());
    const [request] = receiver.requests;
    expect(request!.path).toBe("/pd");
    expect(request!.headers.authorization).toBe("Token token=tok");
    expect(request!.json).toMatchObject({
      routing_key: "rk",
      event_action: "trigger",
      dedup_key: event.id,
      payload: { severity: "error", source: "cloud.prefect.io/acme", class: "State->Failed", component: "etl", summary: expect.stringContaining("Failed") },
      links: [{ href: link }],
    });
  });

  test("PREFECT_MESSAGE: a CLOUD_HOOK message row with the event, once however often it is delivered", async () => {
    const tenantId = await createTenant(h);
    const hook = { id: "66666666-6666-4666-8666-666666666666", type: "PREFECT_MESSAGE", config: {}, tenant_id: tenantId };
    await deliverCloudHook(hook, event, context());
    await deliverCloudHook(hook, event, context()); // delivered again (at least once): still one message
    const { rows } = await h.db.query("select type, content, read from message where tenant_id = $1", [tenantId]);
    expect(rows).toEqual([{ type: "CLOUD_HOOK", content: { event, type: "CLOUD_HOOK" }, read: false }]);
  });
});

// ---- Redis down ---------------------------------------------------------------------------------------------------

describe("Redis down", () => {
  test("a state write never needs Redis; the relay keeps the delivery owed while Redis is unreachable", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const id = await hook(tenantId, ["RUNNING"]);
    const runId = await runOf(flowId);
    await setFlowRunState(h, runId, "Running");
    const unreachable = createJobProducer(testConfig({ PREFECT_SERVER__REDIS__URL: "redis://127.0.0.1:1", PREFECT_SERVER__QUEUE__PREFIX: redis.prefix }), CLOUD_HOOK_QUEUE);
    try {
      expect(await relayOutbox(h.db, unreachable)).toEqual({ enqueued: 0, dropped: 0, failed: 1, refusal: expect.objectContaining({ message: expect.stringMatching(/^Redis is not reachable/) }) });
    } finally {
      await unreachable.close();
    }
    expect(await outboxOf(id)).toEqual([expect.objectContaining({ enqueued: false, done: false })]);
    // reachable again: the next pass enqueues it
    expect(await jobsOf(id)).toHaveLength(1);
  });

  test("a Redis that restarts empty: the deliveries it lost are enqueued again", { timeout: 30_000 }, async () => {
    const privateRedis = new PrivateRedis();
    await privateRedis.start();
    const prefix = unique("hooks-lost");
    const lossy = createJobProducer(testConfig({ PREFECT_SERVER__REDIS__URL: privateRedis.url, PREFECT_SERVER__QUEUE__PREFIX: prefix }), CLOUD_HOOK_QUEUE);
    let hookId = "";
    // this hook's jobs (the relay also moves what earlier tests left owed)
    const count = async () => {
      const queue = new Queue(CLOUD_HOOK_QUEUE, { connection: { url: privateRedis.url }, prefix });
      try {
        return (await queue.getJobs(["waiting"])).filter((job) => job.data.hook_id === hookId).length;
      } finally {
        await queue.close();
      }
    };
    try {
      const { tenantId, flowId } = await setupFlow(h);
      const id = (hookId = await hook(tenantId, ["RUNNING", "SUCCESS"]));
      for (const runId of [await runOf(flowId), await runOf(flowId)]) await setFlowRunState(h, runId, "Running");
      expect(await relayOutbox(h.db, lossy)).toMatchObject({ enqueued: 2, failed: 0 });
      expect(await count()).toBe(2);

      await privateRedis.stop();
      await privateRedis.start(); // without persistence: the two jobs are gone
      expect(await count()).toBe(0);
      // enqueued, not done: once REENQUEUE_AFTER_SECONDS have passed (0 here), the relay adds them again (as soon as
      // its producer has reconnected)
      await waitFor("the relay enqueued them again", async () => (await relayOutbox(h.db, lossy, { reenqueueAfterSeconds: 0 })).failed === 0, 10_000);
      expect(await count()).toBe(2);
      expect(await outboxOf(id)).toEqual([expect.objectContaining({ enqueued: true, done: false }), expect.objectContaining({ enqueued: true, done: false })]);
    } finally {
      await lossy.close();
      await privateRedis.dispose();
    }
  });
});
