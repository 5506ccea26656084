/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Concurrency limits (beyond v1, as Prefect Cloud had them; docs/concurrency.md): task-tag limits under Prefect
// Core's names (update_task_tag_limit, task_tag_limit) and the UI's (update_task_concurrency_limit,
// task_concurrency), flow-label limits; a run asking to start while a limit of its tags or labels is used up gets
// `status: "QUEUED"` with a message naming it, and nothing is written; get_runs_in_queue hands an agent no more runs
// of a label than its free slots. Exact under concurrency: racing writers and polling agents never exceed a limit.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pino } from "pino";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";
import { createMutationsService, type MutationsService } from "../../services/mutations/src/server.ts";
import { peakRunning, startSampler } from "../helpers/sampler.ts";
import { SET_FLOW_RUN_STATES, SET_TASK_RUN_STATES, createFlow, createFlowRun, createProject, createTenant, setFlowRunState, setupFlow, state, task, useMutations } from "./helpers.ts";

const h = useMutations({ poolSize: 20 });

// Three more replicas of the service on the same database: each coalesces its own task-run state writes into one
// statement at a time, so concurrent statements (what the limits' locks are for) come from several replicas.
const REPLICAS = 3;
const replicas: { service: MutationsService; pool: Pool }[] = [];
beforeAll(async () => {
  for (let i = 0; i < REPLICAS; i += 1) {
    const pool = createPool(h.url, 5);
    replicas.push({ pool, service: await createMutationsService({ db: pool, config: h.config, log: pino({ level: "silent" }) }) });
  }
});
afterAll(async () => {
  for (const { service, pool } of replicas) {
    await service.stop();
    await pool.end();
  }
});

/** Runs an operation on replica `n` (0: the harness's service). */
async function onReplica(n: number, query: string, variables: Record<string, unknown>): Promise<any> {
  if (n === 0) return h.ok(query, variables);
  const { service } = replicas[n - 1]!;
  const response = await service.apollo.executeOperation({ query, variables }, { contextValue: service.context({}) });
  if (response.body.kind !== "single" || response.body.singleResult.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.body)}`);
  return response.body.singleResult.data;
}

const UPDATE_TAG = "mutation($input: update_task_tag_limit_input!) { update_task_tag_limit(input: $input) { id } }";
const DELETE_TAG = "mutation($input: delete_task_tag_limit_input!) { delete_task_tag_limit(input: $input) { success } }";
const UPDATE_UI = "mutation($input: update_task_concurrency_limit_input!) { update_task_concurrency_limit(input: $input) { id } }";
const DELETE_UI = "mutation($input: delete_task_concurrency_limit_input!) { delete_task_concurrency_limit(input: $input) { success error } }";
const TASK_USAGE = "query($names: [String!]!, $tenant: UUID) { task_concurrency(names: $names, tenant_id: $tenant) { name usage } }";
const UPDATE_LABEL = "mutation($input: update_flow_concurrency_limit_input!) { update_flow_concurrency_limit(input: $input) { id } }";
const DELETE_LABEL = "mutation($input: delete_flow_concurrency_limit_input!) { delete_flow_concurrency_limit(input: $input) { success } }";
const LABEL_USAGE = "query($labels: [String!]!, $tenant: UUID) { flow_concurrency(labels: $labels, tenant_id: $tenant) { label usage } }";
const POLL = "mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const limitRow = async (table: string, id: string) => (await h.db.query(`SELECT * FROM ${table} WHERE id = $1`, [id])).rows[0];

/** A flow of `count` tasks tagged `tags` (and one untagged), a run of it set Running; its task-run ids, tagged ones first. */
async function runWithTaggedTasks(count: number, tags: string[]) {
  const tasks = [...Array.from({ length: count }, (_, i) => task(`t${i}`, { tags })), task("free")];
  const { tenantId, flowId } = await setupFlow(h, { tasks });
  const flowRunId = await createFlowRun(h, { flow_id: flowId });
  await setFlowRunState(h, flowRunId, "Running");
  const { rows } = await h.db.query(
    "SELECT tr.id FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE tr.flow_run_id = $1 ORDER BY t.slug = 'free', t.slug",
    [flowRunId],
  );
  return { tenantId, flowRunId, taskRunIds: rows.map((row) => row.id as string) };
}

const setTaskLimit = async (tenantId: string, tag: string, limit: number) =>
  (await h.ok(UPDATE_TAG, { input: { tenant_id: tenantId, tag, limit } })).update_task_tag_limit.id as string;
const startTask = (taskRunId: string, version: number | null = null) =>
  h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunId, version, state: state("Running") }] } }).then((data) => data.set_task_run_states.states[0]);
/** How many of these task runs of the flow run are Running now. */
const runningOf = async (flowRunId: string, taskRunIds: string[]) => ({
  running: (await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE flow_run_id = $1 AND state = 'Running' AND id = ANY($2)", [flowRunId, taskRunIds]))
    .rows[0].n as number,
});
const taskRunRow = async (id: string) => (await h.db.query("SELECT state, version FROM task_run WHERE id = $1", [id])).rows[0];

describe("task-tag limits: the mutations", () => {
  test("update_task_tag_limit creates the limit, then updates it in place; delete_task_tag_limit removes it", async () => {
    const tenantId = await createTenant(h);
    const id = await setTaskLimit(tenantId, "db", 3);
    expect(await limitRow("task_tag_limit", id)).toMatchObject({ tenant_id: tenantId, tag: "db", limit: 3 });
    expect(await setTaskLimit(tenantId, "db", 0)).toBe(id);
    expect(await limitRow("task_tag_limit", id)).toMatchObject({ limit: 0 });
    expect((await h.ok(DELETE_TAG, { input: { limit_id: id } })).delete_task_tag_limit).toEqual({ success: true });
    expect((await h.ok(DELETE_TAG, { input: { limit_id: id } })).delete_task_tag_limit).toEqual({ success: false });
  });

  test("the UI's names write the same limits, keyed by name", async () => {
    const tenantId = await createTenant(h);
    const id = (await h.ok(UPDATE_UI, { input: { tenant_id: tenantId, name: "db", limit: 2 } })).update_task_concurrency_limit.id;
    expect(await setTaskLimit(tenantId, "db", 5)).toBe(id);
    expect((await h.db.query("SELECT name, \"limit\" FROM task_concurrency_limit WHERE id = $1", [id])).rows).toEqual([{ name: "db", limit: 5 }]);
    expect((await h.ok(DELETE_UI, { input: { limit_id: id } })).delete_task_concurrency_limit).toEqual({ success: true, error: null });
  });

  test("bad input: a clear error in our words, nothing written", async () => {
    const tenantId = await createTenant(h);
    expect(await h.error(UPDATE_TAG, { input: { tenant_id: tenantId, tag: "db", limit: -1 } })).toBe("Concurrency limits must be >= 0");
    expect(await h.error(UPDATE_TAG, { input: { tenant_id: tenantId, tag: "", limit: 1 } })).toBe("A concurrency limit needs a tag.");
    expect(await h.error(UPDATE_TAG, { input: { tenant_id: tenantId, tag: "x".repeat(256), limit: 1 } })).toBe("The tag is longer than 255 characters.");
    expect(await h.error(UPDATE_TAG, { input: { tenant_id: "00000000-0000-4000-8000-000000000000", tag: "db", limit: 1 } })).toBe(
      "Invalid tenant ID: 00000000-0000-4000-8000-000000000000.",
    );
    // this database has many tenants: a call without one (Core sends none) must say which
    expect(await h.error(UPDATE_TAG, { input: { tag: "db", limit: 1 } })).toBe(
      "This server has several tenants: say which one the limit is for (tenant_id).",
    );
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_tag_limit WHERE tenant_id = $1", [tenantId])).rows[0].n).toBe(0);
  });
});

describe("task-tag limits: starting task runs", () => {
  test("a task run asking for Running over its tag's limit is QUEUED, nothing is written; a freed slot goes to the next", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(2, ["db"]);
    const [a, b] = taskRunIds as [string, string];
    await setTaskLimit(tenantId, "db", 1);
    expect(await startTask(a)).toEqual({ id: a, status: "SUCCESS", message: null });
    const before = await taskRunRow(b);
    expect(await startTask(b, before.version)).toEqual({
      id: b,
      status: "QUEUED",
      message: 'Queued: the concurrency limit of tag "db" (1) is reached; the run will start when a slot frees.',
    });
    expect(await taskRunRow(b)).toEqual(before);
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_run_state WHERE task_run_id = $1", [b])).rows[0].n).toBe(1);
    expect((await h.ok(TASK_USAGE, { names: ["db", "other"], tenant: tenantId })).task_concurrency).toEqual([
      { name: "db", usage: 1 },
      { name: "other", usage: 0 },
    ]);
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: a, state: state("Success") }] } });
    // Core retries with the version it had: the QUEUED answer did not move it
    expect(await startTask(b, before.version)).toMatchObject({ status: "SUCCESS" });
    expect((await taskRunRow(b)).state).toBe("Running");
  });

  test("a limit of 0 lets none start; a run already running is not queued again; untagged tasks and other states pass", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(1, ["db"]);
    const [a, free] = taskRunIds as [string, string];
    await startTask(a);
    await setTaskLimit(tenantId, "db", 0);
    expect(await startTask(a)).toMatchObject({ status: "SUCCESS" });
    expect(await startTask(free)).toMatchObject({ status: "SUCCESS" });
    await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: a, state: state("Retrying", { start_time: new Date().toISOString() }) }] } });
    expect(await startTask(a)).toMatchObject({ status: "QUEUED", message: expect.stringContaining('tag "db" (0)') });
    expect(await h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: a, state: state("Failed") }] } })).toBeTruthy();
  });

  test("every tag of the task must have a free slot; the message names the one that has none", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(2, ["db", "s3"]);
    const [a, b] = taskRunIds as [string, string];
    await setTaskLimit(tenantId, "db", 5);
    await setTaskLimit(tenantId, "s3", 1);
    await startTask(a);
    expect(await startTask(b)).toMatchObject({ status: "QUEUED", message: expect.stringContaining('tag "s3" (1)') });
  });

  test("a tag listed twice on a task takes one slot of its limit", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(2, ["db", "db"]);
    const [a, b] = taskRunIds as [string, string];
    await setTaskLimit(tenantId, "db", 1);
    expect(await startTask(a)).toMatchObject({ status: "SUCCESS" });
    expect(await startTask(b)).toMatchObject({ status: "QUEUED", message: expect.stringContaining('tag "db" (1)') });
  });

  test("limits are per tenant: another tenant's runs of the tag do not count", async () => {
    const first = await runWithTaggedTasks(1, ["db"]);
    const second = await runWithTaggedTasks(1, ["db"]);
    await setTaskLimit(first.tenantId, "db", 1);
    await setTaskLimit(second.tenantId, "db", 1);
    expect(await startTask(first.taskRunIds[0]!)).toMatchObject({ status: "SUCCESS" });
    expect(await startTask(second.taskRunIds[0]!)).toMatchObject({ status: "SUCCESS" });
  });

  test("in one batch, a queued item does not fail the others: they are written, it is not", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(3, ["db"]);
    const [a, b, c, free] = taskRunIds as [string, string, string, string];
    await setTaskLimit(tenantId, "db", 2);
    const data = await h.ok(SET_TASK_RUN_STATES, {
      input: { states: [a, b, c, free].map((id) => ({ task_run_id: id, state: state("Running") })) },
    });
    expect(data.set_task_run_states.states.map((item: any) => item.status)).toEqual(["SUCCESS", "SUCCESS", "QUEUED", "SUCCESS"]);
    expect(await Promise.all([a, b, c, free].map(async (id) => (await taskRunRow(id)).state))).toEqual(["Running", "Running", "Pending", "Running"]);
  });

  test("coalesced requests: a queued request does not take the others of its statement with it", async () => {
    const { tenantId, taskRunIds } = await runWithTaggedTasks(6, ["db"]);
    await setTaskLimit(tenantId, "db", 2);
    const answers = await Promise.all(taskRunIds.map((id) => startTask(id)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === "SUCCESS")).toHaveLength(3); // two slots and the untagged task
    expect(statuses.at(-1)).toBe("SUCCESS");
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE id = ANY($1) AND state = 'Running'", [taskRunIds])).rows[0].n).toBe(3);
  });

  test("exact under concurrency: 50 task runs racing for a limit of 3 on four replicas never have more than 3 running, and all finish", async () => {
    const { most, samples, queuedAnswers, peak } = await raceForLimit(50, 3, () => 5);
    expect(most).toBeLessThanOrEqual(3);
    expect(samples).toBeGreaterThan(10);
    expect(queuedAnswers).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
  }, 120_000);

  test("exact in the shared mode too: 120 task runs racing for a limit of 40 never have more than 40 running", async () => {
    // a limit of 40 lets writers of one start each take it shared (several at once) while at most 24 are running,
    // and alone above that (docs/concurrency.md, "How exact"): the race crosses from one mode to the other
    const { most, queuedAnswers, peak } = await raceForLimit(120, 40, () => 20 + Math.random() * 20);
    expect(most).toBeLessThanOrEqual(40);
    expect(queuedAnswers).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(40);
    expect(peak).toBeGreaterThan(24);
  }, 120_000);
});

/**
 * `count` task runs of a tag limited to `limit` race on the four replicas: each asks for Running until it gets it
 * (QUEUED answers make it wait a few ms), stays running `holdMs()`, then succeeds. Checks that every run finished
 * Success; returns the most running at any sample, the QUEUED answers, and the peak in the state history (every
 * racer's states replayed in commit order: version order per run is not enough across runs, so the state rows'
 * timestamps).
 */
async function raceForLimit(count: number, limit: number, holdMs: () => number) {
  const { tenantId, flowRunId, taskRunIds } = await runWithTaggedTasks(count, ["db"]);
  const racers = taskRunIds.slice(0, count);
  await setTaskLimit(tenantId, "db", limit);
  const sampler = startSampler(() => runningOf(flowRunId, racers));
  let queuedAnswers = 0;
  const race = async (id: string, n: number) => {
    const write = (type: string) => onReplica(n % (REPLICAS + 1), SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: id, state: state(type) }] } });
    for (let attempt = 0; attempt < 2000; attempt += 1) {
      if ((await write("Running")).set_task_run_states.states[0].status === "SUCCESS") {
        await sleep(holdMs());
        await write("Success");
        return true;
      }
      queuedAnswers += 1;
      await sleep(2 + Math.random() * 8);
    }
    return false;
  };
  const finished = await Promise.all(racers.map(race));
  const { most, samples } = await sampler.stop();
  expect(finished.every(Boolean)).toBe(true);
  expect((await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE id = ANY($1) AND state = 'Success'", [racers])).rows[0].n).toBe(count);
  const { rows } = await h.db.query(
    "SELECT state FROM task_run_state WHERE task_run_id = ANY($1) AND state IN ('Running', 'Success') ORDER BY timestamp, version",
    [racers],
  );
  return { most: most.running, samples, queuedAnswers, peak: peakRunning(rows) };
}

describe("task-tag limits: batches", () => {
  test("exact under concurrency: batches of 10 (each its own statement) racing on four replicas never exceed the limit", async () => {
    const { tenantId, flowRunId, taskRunIds } = await runWithTaggedTasks(40, ["db"]);
    const racers = taskRunIds.slice(0, 40);
    await setTaskLimit(tenantId, "db", 5);
    const sampler = startSampler(() => runningOf(flowRunId, racers));
    // each worker owns 10 runs and sends one state for each of them per request (10 items: a batch of its own):
    // Running for a run not started yet, Success for one that is running (and again for one that is done)
    const worker = async (owned: string[], n: number) => {
      const phase = new Map(owned.map((id) => [id, "waiting" as "waiting" | "running" | "done"]));
      let queued = 0;
      for (let round = 0; round < 3000 && [...phase.values()].some((p) => p !== "done"); round += 1) {
        const sent = owned.map((id) => [id, phase.get(id) === "waiting" ? "Running" : "Success"] as const);
        const data = await onReplica(n % (REPLICAS + 1), SET_TASK_RUN_STATES, {
          input: { states: sent.map(([id, type]) => ({ task_run_id: id, state: state(type) })) },
        });
        data.set_task_run_states.states.forEach((answer: any, i: number) => {
          const [id, type] = sent[i]!;
          if (type === "Running" && answer.status === "SUCCESS") phase.set(id, "running");
          else if (type === "Running") queued += 1;
          else phase.set(id, "done");
        });
        await sleep(2 + Math.random() * 6);
      }
      return queued;
    };
    const queued = await Promise.all([0, 1, 2, 3].map((n) => worker(racers.slice(n * 10, n * 10 + 10), n)));
    const { most } = await sampler.stop();
    expect(most.running).toBeLessThanOrEqual(5);
    expect(queued.reduce((a, b) => a + b)).toBeGreaterThan(0);
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE id = ANY($1) AND state = 'Success'", [racers])).rows[0].n).toBe(40);
  }, 120_000);
});

/** A tenant with a flow whose runs carry `labels`, and `count` runs of it. */
async function labeledRuns(count: number, labels: string[], tenantId?: string) {
  const tenant = tenantId ?? (await createTenant(h));
  const flowId = await createFlow(h, await createProject(h, tenant));
  const runIds: string[] = [];
  for (let i = 0; i < count; i += 1) runIds.push(await createFlowRun(h, { flow_id: flowId, labels }));
  return { tenantId: tenant, flowId, runIds };
}
const setLabelLimit = async (tenantId: string, label: string, limit: number) =>
  (await h.ok(UPDATE_LABEL, { input: { tenant_id: tenantId, label, limit } })).update_flow_concurrency_limit.id as string;
const startFlowRun = (flowRunId: string) =>
  h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: state("Running") }] } }).then((data) => data.set_flow_run_states.states[0]);
const poll = async (tenantId: string, labels: string[]) =>
  (await h.ok(POLL, { input: { tenant_id: tenantId, labels } })).get_runs_in_queue.flow_run_ids as string[];

describe("flow-label limits", () => {
  test("update_flow_concurrency_limit takes label (or name), updates in place; delete removes it; flow_concurrency reports usage", async () => {
    const { tenantId, runIds } = await labeledRuns(1, ["gpu"]);
    const id = await setLabelLimit(tenantId, "gpu", 2);
    expect((await h.ok(UPDATE_LABEL, { input: { tenant_id: tenantId, name: "gpu", limit: 3 } })).update_flow_concurrency_limit.id).toBe(id);
    expect(await limitRow("flow_concurrency_limit", id)).toMatchObject({ name: "gpu", limit: 3 });
    expect(await h.error(UPDATE_LABEL, { input: { tenant_id: tenantId, limit: 3 } })).toBe("A concurrency limit needs a label.");
    await startFlowRun(runIds[0]!);
    expect((await h.ok(LABEL_USAGE, { labels: ["gpu"], tenant: tenantId })).flow_concurrency).toEqual([{ label: "gpu", usage: 1 }]);
    expect((await h.ok(DELETE_LABEL, { input: { limit_id: id } })).delete_flow_concurrency_limit).toEqual({ success: true });
  });

  test("a flow run asking for Running over its label's limit is QUEUED and keeps its state; Cancelling is no start", async () => {
    const { tenantId, runIds } = await labeledRuns(2, ["gpu", "x"]);
    const [a, b] = runIds as [string, string];
    await setLabelLimit(tenantId, "gpu", 1);
    expect(await startFlowRun(a)).toMatchObject({ status: "SUCCESS" });
    expect(await startFlowRun(b)).toEqual({
      id: b,
      status: "QUEUED",
      message: 'Queued: the concurrency limit of label "gpu" (1) is reached; the run will start when a slot frees.',
    });
    expect((await h.db.query("SELECT state FROM flow_run WHERE id = $1", [b])).rows[0].state).toBe("Scheduled");
    await setFlowRunState(h, a, "Cancelling");
    expect(await startFlowRun(b)).toMatchObject({ status: "QUEUED" });
    await setFlowRunState(h, a, "Cancelled");
    expect(await startFlowRun(b)).toMatchObject({ status: "SUCCESS" });
  });

  test("get_runs_in_queue hands out no more runs of a label than its free slots, counting runs handed out and not yet submitted", async () => {
    const { tenantId, runIds } = await labeledRuns(5, ["gpu"]);
    const others = await labeledRuns(2, ["cpu"], tenantId);
    await setLabelLimit(tenantId, "gpu", 2);
    const first = await poll(tenantId, ["gpu", "cpu"]);
    expect(first.filter((id) => runIds.includes(id))).toHaveLength(2);
    expect(first.filter((id) => others.runIds.includes(id))).toHaveLength(2);
    // a second agent polling before the first submitted: the two runs hold the slots
    expect((await poll(tenantId, ["gpu"])).filter((id) => !first.includes(id))).toEqual([]);
    // the same runs may be handed out again (the Submitted lock decides who submits them)
    expect((await poll(tenantId, ["gpu"])).sort()).toEqual(first.filter((id) => runIds.includes(id)).sort());
    const [a, b] = first.filter((id) => runIds.includes(id)) as [string, string];
    await setFlowRunState(h, a, "Submitted");
    await setFlowRunState(h, b, "Submitted");
    expect(await poll(tenantId, ["gpu"])).toEqual([]);
    await setFlowRunState(h, a, "Running");
    await setFlowRunState(h, a, "Success");
    const next = await poll(tenantId, ["gpu"]);
    expect(next).toHaveLength(1);
    expect([a, b]).not.toContain(next[0]);
  });

  test("several agents polling at once are handed no more runs of a label than its slots between them", async () => {
    const { tenantId, runIds } = await labeledRuns(12, ["gpu"]);
    await labeledRuns(6, ["gpu", "big"], tenantId);
    await setLabelLimit(tenantId, "gpu", 3);
    const polls = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => (await onReplica(i % (REPLICAS + 1), POLL, { input: { tenant_id: tenantId, labels: i % 2 === 0 ? ["gpu"] : ["gpu", "big"] } })).get_runs_in_queue.flow_run_ids as string[]),
    );
    expect(new Set(polls.flat()).size).toBe(3);
    expect(runIds.length).toBe(12);
  });
});
