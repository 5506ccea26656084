// Flow runs, task runs, heartbeats and the agent queue: acceptance checks 1–9, 20–25, 50–52.
import { describe, expect, test } from "vitest";
import {
  createFlow,
  createFlowRun,
  createProject,
  createTenant,
  edge,
  setFlowRunState,
  setTaskRunState,
  setupFlow,
  task,
  useMutations,
  type MutationsHarness,
} from "./helpers.ts";

const h = useMutations();

const run = async (db: MutationsHarness["db"], id: string) => (await db.query("SELECT * FROM flow_run WHERE id = $1", [id])).rows[0];
const states = async (db: MutationsHarness["db"], id: string) =>
  (await db.query("SELECT * FROM flow_run_state WHERE flow_run_id = $1 ORDER BY version", [id])).rows;

describe("create_flow_run", () => {
  test("check 1: Scheduled v1 with one state row; one Pending task run per task with the task's cache key", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a", { cache_key: "ck" }), task("b"), task("c")], edges: [edge("a", "b")] });
    const id = await createFlowRun(h, { flow_id: flowId });
    const row = await run(h.db, id);
    expect(row).toMatchObject({ state: "Scheduled", state_message: "Flow run scheduled.", version: 1 });
    expect(row.tenant_id).not.toBeNull();
    expect(await states(h.db, id)).toHaveLength(1);
    const { rows: taskRuns } = await h.db.query(
      "SELECT tr.*, t.slug FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE flow_run_id = $1 ORDER BY t.slug",
      [id],
    );
    expect(taskRuns).toHaveLength(3);
    for (const taskRun of taskRuns) {
      expect(taskRun).toMatchObject({ map_index: -1, state: "Pending", state_message: "Task run created", version: 1 });
      expect(taskRun.serialized_state).toEqual({ type: "Pending", message: "Task run created" });
    }
    expect(taskRuns.map((taskRun) => taskRun.cache_key)).toEqual(["ck", null, null]);
  });

  test("check 2: scheduled_start_time is the state's start time; auto_scheduled false; context {}", async () => {
    const { flowId } = await setupFlow(h);
    const id = await createFlowRun(h, { flow_id: flowId, scheduled_start_time: "2020-01-01" });
    const row = await run(h.db, id);
    const expected = new Date("2020-01-01T00:00:00Z").getTime();
    expect(row.scheduled_start_time.getTime()).toBe(expected);
    expect(row.state_start_time.getTime()).toBe(expected);
    expect((await states(h.db, id))[0].start_time.getTime()).toBe(expected);
    expect(row.serialized_state.start_time).toBe("2020-01-01T00:00:00.000000+00:00");
    expect(row.auto_scheduled).toBe(false);
    expect(row.context).toEqual({});
  });

  test("check 3: idempotency keys are per flow", async () => {
    const { flowId, projectId } = await setupFlow(h);
    const first = await createFlowRun(h, { flow_id: flowId, idempotency_key: "abc" });
    expect(await createFlowRun(h, { flow_id: flowId, idempotency_key: "abc" })).toBe(first);
    expect(await states(h.db, first)).toHaveLength(1);
    expect(await createFlowRun(h, { flow_id: flowId, idempotency_key: "xyz" })).not.toBe(first);
    const otherFlow = await createFlow(h, projectId);
    expect(await createFlowRun(h, { flow_id: otherFlow, idempotency_key: "abc" })).not.toBe(first);
  });

  test("check 4: neither flow_id nor version_group_id", async () => {
    const message = await h.error(`mutation { create_flow_run(input: {}) { id } }`);
    expect(message).toBe("A flow id or version group ID must be provided.");
  });

  test("check 5: archived flows and version groups without unarchived flows", async () => {
    const { flowId } = await setupFlow(h);
    await h.ok(`mutation($id: UUID!) { archive_flow(input: {flow_id: $id}) { success } }`, { id: flowId });
    const archived = await h.error(`mutation($id: UUID!) { create_flow_run(input: {flow_id: $id}) { id } }`, { id: flowId });
    expect(archived).toBe(`Flow ${flowId} is archived.`);
    const { rows } = await h.db.query("SELECT version_group_id FROM flow WHERE id = $1", [flowId]);
    const group = await h.error(`mutation($vg: String) { create_flow_run(input: {version_group_id: $vg}) { id } }`, {
      vg: rows[0].version_group_id,
    });
    expect(group).toContain("has no unarchived flows");
  });

  test("check 6: a version group runs its newest unarchived version", async () => {
    const tenantId = await createTenant(h);
    const projectId = await createProject(h, tenantId);
    const ids: string[] = [];
    for (let version = 1; version <= 15; version += 1) ids.push(await createFlow(h, projectId, { name: "versions", version_group_id: "g" }));
    await h.db.query("UPDATE flow SET archived = (version <> 8) WHERE id = ANY($1)", [ids]);
    const first = await createFlowRun(h, { version_group_id: "g" });
    expect((await run(h.db, first)).flow_id).toBe(ids[7]);
    await h.db.query("UPDATE flow SET archived = NOT (version IN (1, 11)) WHERE id = ANY($1)", [ids]);
    const second = await createFlowRun(h, { version_group_id: "g" });
    expect((await run(h.db, second)).flow_id).toBe(ids[10]);
  });

  test("check 7: required parameters and parameter precedence", async () => {
    const required = await setupFlow(h, { parameters: [{ name: "x", slug: "x", required: true, default: null }] });
    const message = await h.error(`mutation($id: UUID!) { create_flow_run(input: {flow_id: $id}) { id } }`, { id: required.flowId });
    expect(message).toBe("Required parameters were not supplied: {'x'}");
    const { flowId } = await setupFlow(h, { parameters: [{ name: "x", slug: "x", required: false, default: 1 }] });
    const { rows } = await h.db.query("SELECT flow_group_id FROM flow WHERE id = $1", [flowId]);
    await h.ok(`mutation($id: UUID!) { set_flow_group_default_parameters(input: {flow_group_id: $id, parameters: "{\\"x\\": 2}"}) { success } }`, {
      id: rows[0].flow_group_id,
    });
    expect((await run(h.db, await createFlowRun(h, { flow_id: flowId }))).parameters).toEqual({ x: 2 });
    expect((await run(h.db, await createFlowRun(h, { flow_id: flowId, parameters: { x: 3 } }))).parameters).toEqual({ x: 3 });
  });

  test("falsy parameter defaults are kept (v1 dropped them)", async () => {
    const { flowId } = await setupFlow(h, { parameters: [{ name: "n", slug: "n", required: false, default: 0 }] });
    expect((await run(h.db, await createFlowRun(h, { flow_id: flowId }))).parameters).toEqual({ n: 0 });
  });

  describe("check 8: labels", () => {
    const groupOf = async (flowId: string) => (await h.db.query("SELECT flow_group_id FROM flow WHERE id = $1", [flowId])).rows[0].flow_group_id;
    const labelsOf = async (input: Record<string, unknown>) => (await run(h.db, await createFlowRun(h, input))).labels;

    test("input labels, flow run_config labels (sorted), group labels override, [] counts", async () => {
      const { flowId } = await setupFlow(h, { run_config: { type: "UniversalRun", labels: ["foo", "bar"] } });
      expect(await labelsOf({ flow_id: flowId, labels: ["one", "two"] })).toEqual(["one", "two"]);
      expect(await labelsOf({ flow_id: flowId })).toEqual(["bar", "foo"]);
      const groupId = await groupOf(flowId);
      await h.ok(`mutation($id: UUID!, $l: [String!]) { set_flow_group_labels(input: {flow_group_id: $id, labels: $l}) { success } }`, {
        id: groupId,
        l: ["meep", "morp"],
      });
      expect(await labelsOf({ flow_id: flowId })).toEqual(["meep", "morp"]);
      await h.ok(`mutation($id: UUID!) { set_flow_group_labels(input: {flow_group_id: $id, labels: []}) { success } }`, { id: groupId });
      expect(await labelsOf({ flow_id: flowId })).toEqual([]);
    });

    test("the 16-combination precedence matrix of run labels, run run_config, group labels, group run_config", async () => {
      const { flowId } = await setupFlow(h, { run_config: { type: "UniversalRun", labels: ["flow"] } });
      const groupId = await groupOf(flowId);
      for (let mask = 0; mask < 16; mask += 1) {
        const runLabels = mask & 1 ? ["run"] : undefined;
        const runConfig = mask & 2 ? { type: "UniversalRun", labels: ["run-config"] } : undefined;
        const groupLabels = mask & 4 ? ["group"] : null;
        const groupRunConfig = mask & 8 ? { type: "UniversalRun", labels: ["group-config"] } : null;
        await h.db.query("UPDATE flow_group SET labels = $2, run_config = $3 WHERE id = $1", [
          groupId,
          groupLabels && JSON.stringify(groupLabels),
          groupRunConfig && JSON.stringify(groupRunConfig),
        ]);
        const expected = runLabels ?? runConfig?.labels ?? groupLabels ?? groupRunConfig?.labels ?? ["flow"];
        expect({ mask, labels: await labelsOf({ flow_id: flowId, labels: runLabels, run_config: runConfig }) }).toEqual({ mask, labels: expected });
      }
    });

    test("a group run_config without labels yields [] even when the flow's has some", async () => {
      const { flowId } = await setupFlow(h, { run_config: { type: "UniversalRun", labels: ["flow"] } });
      await h.db.query(`UPDATE flow_group SET run_config = '{"type": "LocalRun"}' WHERE id = $1`, [await groupOf(flowId)]);
      expect(await labelsOf({ flow_id: flowId })).toEqual([]);
    });
  });

  test("check 9: run_config precedence input > group > flow", async () => {
    const { flowId } = await setupFlow(h, { run_config: { type: "FlowRun" } });
    const runConfigOf = async (input: Record<string, unknown>) => (await run(h.db, await createFlowRun(h, input))).run_config;
    expect(await runConfigOf({ flow_id: flowId })).toEqual({ type: "FlowRun" });
    const { rows } = await h.db.query("SELECT flow_group_id FROM flow WHERE id = $1", [flowId]);
    await h.db.query(`UPDATE flow_group SET run_config = '{"type": "GroupRun"}' WHERE id = $1`, [rows[0].flow_group_id]);
    expect(await runConfigOf({ flow_id: flowId })).toEqual({ type: "GroupRun" });
    expect(await runConfigOf({ flow_id: flowId, run_config: { type: "InputRun" } })).toEqual({ type: "InputRun" });
  });

  test("a name is generated unless given", async () => {
    const { flowId } = await setupFlow(h);
    expect((await run(h.db, await createFlowRun(h, { flow_id: flowId }))).name).toMatch(/^[a-z]+-[a-z]+$/);
    expect((await run(h.db, await createFlowRun(h, { flow_id: flowId, flow_run_name: "mine" }))).name).toBe("mine");
  });
});

describe("task runs", () => {
  const GET_OR_CREATE = `mutation($input: get_or_create_task_run_input!) { get_or_create_task_run(input: $input) { id } }`;

  test("check 51: get_or_create_task_run is idempotent and creates mapped children once", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const { rows } = await h.db.query("SELECT id, task_id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    const [{ id: parentId, task_id: taskId }] = rows;
    const existing = await h.ok(GET_OR_CREATE, { input: { flow_run_id: flowRunId, task_id: taskId } });
    expect(existing.get_or_create_task_run.id).toBe(parentId);
    const countStates = async (id: string) => (await h.db.query("SELECT count(*)::int AS n FROM task_run_state WHERE task_run_id = $1", [id])).rows[0].n;
    expect(await countStates(parentId)).toBe(1);
    const child = (await h.ok(GET_OR_CREATE, { input: { flow_run_id: flowRunId, task_id: taskId, map_index: 0 } })).get_or_create_task_run.id;
    expect(child).not.toBe(parentId);
    expect(await countStates(child)).toBe(1);
    expect((await h.ok(GET_OR_CREATE, { input: { flow_run_id: flowRunId, task_id: taskId, map_index: 0 } })).get_or_create_task_run.id).toBe(child);
    expect(await countStates(child)).toBe(1);
    const fake = "00000000-0000-4000-8000-000000000000";
    expect(await h.error(GET_OR_CREATE, { input: { flow_run_id: fake, task_id: taskId } })).toBe("Invalid ID");
    expect(await h.error(GET_OR_CREATE, { input: { flow_run_id: flowRunId, task_id: fake } })).toBe("Invalid ID");
  });

  test("get_or_create_task_run_info with inline literals returns the real state and version", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const { rows } = await h.db.query("SELECT task_id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    const info = await h.ok(
      `mutation { get_or_create_task_run_info(input: { flow_run_id: "${flowRunId}", task_id: "${rows[0].task_id}", map_index: 3 }) { id version state serialized_state } }`,
    );
    expect(info.get_or_create_task_run_info).toMatchObject({ version: 1, state: "Pending", serialized_state: { type: "Pending", message: "Task run created" } });
    const fake = "00000000-0000-4000-8000-000000000000";
    const message = await h.error(`mutation { get_or_create_task_run_info(input: { flow_run_id: "${flowRunId}", task_id: "${fake}" }) { id } }`);
    expect(message).toBe("Invalid task ID");
    const got = await h.ok(`{ get_task_run_info(task_run_id: "${info.get_or_create_task_run_info.id}") { id version state serialized_state } }`);
    expect(got.get_task_run_info).toEqual(info.get_or_create_task_run_info);
    expect(await h.error(`{ get_task_run_info(task_run_id: "${fake}") { id } }`)).toBe("Invalid task run ID");
  });

  test("check 52: mapped_children aggregates the children of a parent task run", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("m")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    await setFlowRunState(h, flowRunId, "Running");
    const { rows } = await h.db.query("SELECT id, task_id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    const [{ id: parentId, task_id: taskId }] = rows;
    const plan = ["Success", "Success", "Success", "Failed", "Failed", "Retrying", "Running", "Running", "Running", "Pending"];
    let childId = "";
    for (const [index, type] of plan.entries()) {
      const created = await h.ok(`mutation { get_or_create_task_run(input: {flow_run_id: "${flowRunId}", task_id: "${taskId}", map_index: ${index}}) { id } }`);
      childId = created.get_or_create_task_run.id;
      if (type !== "Pending") {
        await setTaskRunState(h, childId, "Running");
        if (type !== "Running") await setTaskRunState(h, childId, type, type === "Retrying" ? { start_time: new Date().toISOString() } : {});
      }
    }
    const data = await h.ok(`{ mapped_children(task_run_id: "${parentId}") { min_start_time max_end_time state_counts } }`);
    expect(data.mapped_children.state_counts).toEqual({ Success: 3, Failed: 2, Retrying: 1, Running: 3, Pending: 1 });
    expect(data.mapped_children.min_start_time).not.toBeNull();
    expect(data.mapped_children.max_end_time).not.toBeNull();
    for (const id of [childId, "00000000-0000-4000-8000-000000000000"]) {
      const empty = await h.ok(`{ mapped_children(task_run_id: "${id}") { min_start_time max_end_time state_counts } }`);
      expect(empty.mapped_children).toEqual({ min_start_time: null, max_end_time: null, state_counts: {} });
    }
  });

  test("set_task_run_name / set_flow_run_name / set_flow_run_labels / delete_flow_run", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const fake = "00000000-0000-4000-8000-000000000000";
    const rename = `mutation($id: UUID!, $name: String!) { set_flow_run_name(input: {flow_run_id: $id, name: $name}) { success } }`;
    expect((await h.ok(rename, { id: flowRunId, name: "renamed" })).set_flow_run_name.success).toBe(true);
    expect((await h.ok(rename, { id: fake, name: "renamed" })).set_flow_run_name.success).toBe(false);
    expect(await h.error(rename, { id: flowRunId, name: "" })).toBe("Invalid name");
    const labels = `mutation($id: UUID!, $l: [String!]!) { set_flow_run_labels(input: {flow_run_id: $id, labels: $l}) { success } }`;
    await h.ok(labels, { id: flowRunId, l: ["b", "a"] });
    expect((await run(h.db, flowRunId)).labels).toEqual(["a", "b"]);
    const { rows } = await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    await h.ok(`mutation($id: UUID!) { set_task_run_name(input: {task_run_id: $id, name: "t"}) { success } }`, { id: rows[0].id });
    expect((await h.db.query("SELECT name FROM task_run WHERE id = $1", [rows[0].id])).rows[0].name).toBe("t");
    const remove = `mutation($id: UUID!) { delete_flow_run(input: {flow_run_id: $id}) { success } }`;
    expect((await h.ok(remove, { id: flowRunId })).delete_flow_run.success).toBe(true);
    expect((await h.db.query("SELECT count(*)::int AS n FROM task_run WHERE flow_run_id = $1", [flowRunId])).rows[0].n).toBe(0);
    expect((await h.ok(remove, { id: flowRunId })).delete_flow_run.success).toBe(false);
  });
});

describe("heartbeats", () => {
  test("check 50: always success; a real id gets a fresh heartbeat", async () => {
    const fake = "00000000-0000-4000-8000-000000000000";
    const flowBeat = (id: string) => h.ok(`mutation { update_flow_run_heartbeat(input: { flow_run_id: "${id}" }) { success } }`);
    const taskBeat = (id: string) => h.ok(`mutation { update_task_run_heartbeat(input: { task_run_id: "${id}" }) { success } }`);
    expect((await flowBeat(fake)).update_flow_run_heartbeat.success).toBe(true);
    expect((await taskBeat(fake)).update_task_run_heartbeat.success).toBe(true);
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const before = new Date();
    await flowBeat(flowRunId);
    expect((await run(h.db, flowRunId)).heartbeat.getTime()).toBeGreaterThanOrEqual(before.getTime());
    const { rows } = await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    await taskBeat(rows[0].id);
    const taskRun = (await h.db.query("SELECT heartbeat FROM task_run WHERE id = $1", [rows[0].id])).rows[0];
    expect(taskRun.heartbeat.getTime()).toBeGreaterThanOrEqual(before.getTime());
  });
});

describe("get_runs_in_queue", () => {
  const QUEUE = `mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`;
  const queue = async (tenantId: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    (await h.ok(QUEUE, { input: { tenant_id: tenantId, ...extra } }, headers)).get_runs_in_queue.flow_run_ids as string[];
  const hoursFromNow = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();

  test("check 20: due Scheduled runs, the before bound, finished runs", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const due = await createFlowRun(h, { flow_id: flowId, scheduled_start_time: hoursFromNow(-24) });
    const future = await createFlowRun(h, { flow_id: flowId, scheduled_start_time: hoursFromNow(24) });
    expect(await queue(tenantId)).toEqual([due]);
    expect(await queue(tenantId)).toEqual([due]);
    expect(await queue(tenantId, { before: hoursFromNow(-48) })).toEqual([]);
    expect(await queue(tenantId)).not.toContain(future);
    await setFlowRunState(h, due, "Success");
    expect(await queue(tenantId)).toEqual([]);
  });

  test("check 21 and 22: Running runs with due task runs; Paused without a start time stays out", async () => {
    const { tenantId, flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId, scheduled_start_time: hoursFromNow(1) });
    await setFlowRunState(h, flowRunId, "Running");
    const { rows } = await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId]);
    await setTaskRunState(h, rows[0].id, "Scheduled", { start_time: hoursFromNow(-0.01) });
    expect(await queue(tenantId)).toEqual([flowRunId]);
    await setTaskRunState(h, rows[0].id, "Paused", { start_time: null });
    expect(await queue(tenantId)).toEqual([]);
    await setTaskRunState(h, rows[0].id, "Success");
    expect(await queue(tenantId)).toEqual([]);
    const paused = await createFlowRun(h, { flow_id: flowId });
    await setFlowRunState(h, paused, "Paused", { start_time: null });
    expect(await queue(tenantId)).toEqual([]);
  });

  test("check 23: label matching", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const labeled = await createFlowRun(h, { flow_id: flowId, labels: ["foo", "bar"], scheduled_start_time: hoursFromNow(-1) });
    const unlabeled = await createFlowRun(h, { flow_id: flowId, labels: [], scheduled_start_time: hoursFromNow(-1) });
    expect(await queue(tenantId, { labels: ["foo", "bar"] })).toEqual([labeled]);
    expect(await queue(tenantId, { labels: ["foo", "bar", "chris"] })).toEqual([labeled]);
    expect(await queue(tenantId, { labels: ["dev"] })).toEqual([]);
    expect(await queue(tenantId, { labels: ["foo", "staging"] })).toEqual([]);
    expect(await queue(tenantId, { labels: [] })).toEqual([unlabeled]);
    expect(await queue(tenantId)).toEqual([unlabeled]);
    expect(await queue(tenantId, { labels: null })).toEqual([unlabeled]);
    const staged = await createFlowRun(h, { flow_id: flowId, labels: ["dev", "staging"], scheduled_start_time: hoursFromNow(-1) });
    expect(await queue(tenantId, { labels: ["dev", "staging"] })).toEqual([staged]);
  });

  test("check 24: at most 25 runs, oldest first; the before bound counts runs", async () => {
    const { tenantId, flowId } = await setupFlow(h);
    const start = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let index = 0; index < 50; index += 1) {
      ids.push(await createFlowRun(h, { flow_id: flowId, scheduled_start_time: new Date(start + index * 1000).toISOString() }));
    }
    expect(await queue(tenantId)).toEqual(ids.slice(0, 25));
    const other = await setupFlow(h);
    const now = Date.now();
    for (let minute = 0; minute < 10; minute += 1) {
      await createFlowRun(h, { flow_id: other.flowId, scheduled_start_time: new Date(now + minute * 60_000).toISOString() });
    }
    expect(await queue(other.tenantId, { before: new Date(now + 4 * 60_000 + 1000).toISOString() })).toHaveLength(5);
  });

  test("check 25: the polling agent's last_queried is recorded", async () => {
    const { tenantId } = await setupFlow(h);
    const agent = await h.ok(`mutation($t: UUID) { register_agent(input: {tenant_id: $t, type: "LocalAgent"}) { id } }`, { t: tenantId });
    const agentId = agent.register_agent.id;
    await h.db.query("UPDATE agent SET last_queried = now() - interval '1 hour' WHERE id = $1", [agentId]);
    const before = Date.now() - 1000;
    await queue(tenantId, {}, { "X-PREFECT-AGENT-ID": agentId });
    const { rows } = await h.db.query("SELECT last_queried FROM agent WHERE id = $1", [agentId]);
    expect(rows[0].last_queried.getTime()).toBeGreaterThan(before);
  });

  test("only the tenant's runs", async () => {
    const { flowId } = await setupFlow(h);
    await createFlowRun(h, { flow_id: flowId, scheduled_start_time: hoursFromNow(-1) });
    const otherTenant = await createTenant(h);
    expect(await queue(otherTenant)).toEqual([]);
  });
});
