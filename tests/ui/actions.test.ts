/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rows and GraphQL results field by field */
// Every action of the Prefect UI v1, sent as the UI sends it (tests/ui/client.ts: its documents, batched, through the
// gateway to both subgraphs over HTTP), and checked by the effect a user waits for: the run back in the agent's
// queue, the rows in the database. docs/ui.md lists the pages and buttons these cover.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { END_TIME_STATES, startsNowByDefault } from "../../services/domain/src/state_classes.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startStack, type Stack } from "../gateway/helpers.ts";
import { edge, serializedFlow, task, unique } from "../mutations/helpers.ts";
import { UiClient } from "./client.ts";
import * as ui from "./documents.ts";

const db = useTestDatabase();
let stack: Stack;
let client: UiClient;
let tenantId: string;
let projectId: string;

const rows = async (sql: string, values: unknown[] = []) => (await db.pool.query(sql, values)).rows;
const row = async (sql: string, values: unknown[] = []) => (await rows(sql, values))[0];

/** What an agent's poll gets: Core's document, posted to `/` with its variables as a JSON string. */
async function agentPoll(labels: string[] = []): Promise<string[]> {
  const response = await fetch(stack.url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-prefect-core-version": "1.4.1" },
    body: JSON.stringify({
      query: "mutation($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }",
      variables: JSON.stringify({ input: { tenant_id: tenantId, before: new Date(Date.now() + 10_000).toISOString(), labels } }),
    }),
  });
  const body = (await response.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data.get_runs_in_queue.flow_run_ids;
}

/** A flow a -> b -> c (the UI's tutorial registers flows with create_flow). */
async function createFlow(options: Parameters<typeof serializedFlow>[0] = {}): Promise<{ flowId: string; flowGroupId: string }> {
  const flow = serializedFlow({ tasks: [task("a"), task("b"), task("c")], edges: [edge("a", "b"), edge("b", "c")], ...options });
  const { create_flow } = await client.one(ui.CREATE_FLOW, { input: { project_id: projectId, serialized_flow: flow, set_schedule_active: false } });
  const { flow_group_id } = await row("SELECT flow_group_id FROM flow WHERE id = $1", [create_flow.id]);
  return { flowId: create_flow.id, flowGroupId: flow_group_id };
}

/** A new run of a new flow (Quick run), scheduled `inSeconds` from now. */
async function newRun(inSeconds = 3600): Promise<{ flowRunId: string; flowId: string; taskRuns: Record<string, string> }> {
  const { flowId } = await createFlow();
  const { create_flow_run } = await client.one(ui.CREATE_FLOW_RUN, {
    flowId,
    scheduledStartTime: new Date(Date.now() + inSeconds * 1000).toISOString(),
  });
  const taskRuns = Object.fromEntries(
    (await rows("SELECT t.slug, tr.id FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE tr.flow_run_id = $1", [create_flow_run.id])).map(
      (r) => [r.slug, r.id],
    ),
  );
  return { flowRunId: create_flow_run.id, flowId, taskRuns };
}

/** What Core writes for a run: its states one by one (the agent's and the engine's writes). */
async function coreSets(kind: "flow_run" | "task_run", id: string, state: Record<string, unknown>): Promise<void> {
  const query = kind === "flow_run" ? ui.SET_FLOW_RUN_STATES : ui.SET_TASK_RUN_STATES;
  await client.one(query, { input: { states: [{ [`${kind}_id`]: id, state: { context: {}, cached_inputs: {}, ...state } }] } });
}

/** A run that Core executed and that failed at task b (c TriggerFailed), as a Restart finds it. */
async function failedRun() {
  const run = await newRun(0);
  await coreSets("flow_run", run.flowRunId, { type: "Running", message: "Running flow." });
  await coreSets("task_run", run.taskRuns.a!, { type: "Success", message: "Task run succeeded." });
  await coreSets("task_run", run.taskRuns.b!, { type: "Failed", message: "boom" });
  await coreSets("task_run", run.taskRuns.c!, { type: "TriggerFailed", message: "Trigger was all_successful but some of the upstream tasks failed." });
  await coreSets("flow_run", run.flowRunId, { type: "Failed", message: "Some reference tasks failed." });
  return run;
}

const taskRunStates = async (flowRunId: string) =>
  Object.fromEntries(
    (await rows("SELECT t.slug, tr.state FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE tr.flow_run_id = $1", [flowRunId])).map((r) => [
      r.slug,
      r.state,
    ]),
  );

beforeAll(async () => {
  stack = await startStack("distributed", db.url);
  client = new UiClient(stack.url);
  const slug = unique("ui");
  const created = await client.one(`mutation CreateTenant($input: create_tenant_input!) { create_tenant(input: $input) { id } }`, {
    input: { name: slug, slug },
  });
  tenantId = created.create_tenant.id;
  projectId = (await client.one(ui.CREATE_PROJECT, { input: { tenant_id: tenantId, name: unique("project") } })).create_project.id;
});

afterAll(async () => {
  await stack?.stop();
});

describe("run buttons: the run is back in the agent's queue", () => {
  test("Start now (the rocket on an upcoming run): the agent's next poll returns it", async () => {
    const { flowRunId } = await newRun(3600);
    const { flow_run: upcoming } = await client.one(ui.UPCOMING_FLOW_RUNS, { projectId: null });
    expect(upcoming.map((r: any) => r.id)).toContain(flowRunId);
    expect(await agentPoll()).not.toContain(flowRunId);
    await client.startNow(flowRunId);
    expect(await agentPoll()).toContain(flowRunId);
    const run = await client.flowRun(flowRunId);
    expect(run).toMatchObject({ state: "Scheduled", version: 2 });
    expect(Date.parse(run.state_start_time)).toBeLessThanOrEqual(Date.now());
  });

  test("Restart of a failed flow run: the failed task run and those downstream Pending, the run Scheduled and queued", async () => {
    const { flowRunId } = await failedRun();
    expect(await agentPoll()).not.toContain(flowRunId);
    await client.restartFlowRun(flowRunId);
    expect(await taskRunStates(flowRunId)).toEqual({ a: "Success", b: "Pending", c: "Pending" });
    const run = await client.flowRun(flowRunId);
    expect(run).toMatchObject({ state: "Scheduled", state_message: "Flow run restarted from the UI." });
    expect(run.state_start_time).not.toBeNull();
    expect(await agentPoll()).toContain(flowRunId);
    expect(await rows("SELECT name, level, message FROM log WHERE flow_run_id = $1", [flowRunId])).toEqual([
      { name: "Restart", level: "INFO", message: "Flow run restarted from the UI." },
    ]);
  });

  test("Restart from one task run (task restart dialog): that task and those downstream Pending, upstream kept", async () => {
    const { flowRunId, taskRuns } = await newRun(0);
    await coreSets("flow_run", flowRunId, { type: "Running" });
    for (const slug of ["a", "b", "c"]) await coreSets("task_run", taskRuns[slug]!, { type: "Success" });
    await coreSets("flow_run", flowRunId, { type: "Success" });
    await client.restartTaskRun(taskRuns.b!);
    expect(await taskRunStates(flowRunId)).toEqual({ a: "Success", b: "Pending", c: "Pending" });
    expect((await client.flowRun(flowRunId)).state).toBe("Scheduled");
    expect(await agentPoll()).toContain(flowRunId);
  });

  test("Approve on a paused (manual-only) task run: Resume starts now and the Running run is queued again", async () => {
    const { flowRunId, taskRuns } = await newRun(0);
    await coreSets("flow_run", flowRunId, { type: "Running" });
    await coreSets("task_run", taskRuns.a!, { type: "Success" });
    // Core pauses a manual_only task with a Paused state without a start time
    await coreSets("task_run", taskRuns.b!, { type: "Paused", message: "Trigger function is 'manual_only'", start_time: null });
    expect(await agentPoll()).not.toContain(flowRunId);
    await client.approve(taskRuns.b!);
    const { task_run_by_pk: approved } = await client.one(ui.TASK_RUN, { id: taskRuns.b });
    expect(approved).toMatchObject({ state: "Resume", state_message: "Approved in the UI." });
    expect(approved.state_start_time).not.toBeNull();
    expect(await agentPoll()).toContain(flowRunId);
  });

  test("Clear late runs: the inline JSON-string state cancels the run and its task runs", async () => {
    const { flowRunId } = await newRun(-3600);
    expect(await agentPoll()).toContain(flowRunId);
    await client.ok({ query: ui.cancelLateRun(flowRunId, 1) });
    expect((await client.flowRun(flowRunId)).state).toBe("Cancelled");
    expect(Object.values(await taskRunStates(flowRunId))).toEqual(["Cancelled", "Cancelled", "Cancelled"]);
    expect(await agentPoll()).not.toContain(flowRunId);
  });
});

describe("Set state, to each state the UI offers", () => {
  const OFFERED = ["Scheduled", "Retrying", "Resume", "Paused", "Pending", "Running", "Success", "Failed", "Cancelled", "Skipped", "TimedOut", "Cached", "Looped"];

  test("on flow runs: stored as v1 stores the state (start times, end time, heartbeat, the Cancelled cascade)", async () => {
    for (const type of OFFERED) {
      const { flowRunId } = await newRun(3600);
      const since = Date.now() - 1;
      await client.one(ui.SET_FLOW_RUN_STATES, {
        input: { states: [{ version: 1, flow_run_id: flowRunId, state: { type, message: `Set to ${type} in the UI.` } }] },
      });
      const run = await row("SELECT * FROM flow_run WHERE id = $1", [flowRunId]);
      const state = await row("SELECT * FROM flow_run_state WHERE flow_run_id = $1 AND version = 2", [flowRunId]);
      const seen = {
        type,
        state: run.state,
        message: state.message,
        version: run.version,
        startsNow: run.state_start_time !== null && run.state_start_time.getTime() >= since,
        sameStart: state.start_time?.getTime() ?? null,
        ended: run.end_time !== null,
        started: run.start_time !== null,
        heartbeat: run.heartbeat !== null,
        serializedStart: run.serialized_state.start_time ?? null,
      };
      expect(seen).toEqual({
        type,
        state: type,
        message: `Set to ${type} in the UI.`,
        version: 2,
        startsNow: startsNowByDefault(type),
        sameStart: run.state_start_time?.getTime() ?? null,
        ended: END_TIME_STATES.includes(type),
        started: type === "Running",
        heartbeat: type === "Running",
        serializedStart: startsNowByDefault(type) ? expect.stringMatching(/\+00:00$/) : null,
      });
      const tasks = Object.values(await taskRunStates(flowRunId));
      expect({ type, tasks }).toEqual({ type, tasks: type === "Cancelled" ? ["Cancelled", "Cancelled", "Cancelled"] : ["Pending", "Pending", "Pending"] });
    }
  });

  test("on task runs of a running flow run: the same rules", async () => {
    const { flowRunId, taskRuns } = await newRun(0);
    await coreSets("flow_run", flowRunId, { type: "Running" });
    for (const type of OFFERED) {
      const id = taskRuns.a!;
      const before = await row("SELECT version FROM task_run WHERE id = $1", [id]);
      const since = Date.now() - 1;
      await client.one(ui.SET_TASK_RUN_STATES, { input: { states: [{ version: before.version, task_run_id: id, state: { type, message: `UI ${type}` } }] } });
      const run = await row("SELECT * FROM task_run WHERE id = $1", [id]);
      expect({
        type,
        state: run.state,
        message: run.state_message,
        version: run.version,
        startsNow: run.state_start_time !== null && run.state_start_time.getTime() >= since,
      }).toEqual({ type, state: type, message: `UI ${type}`, version: before.version + 1, startsNow: startsNowByDefault(type) });
    }
  });
});

describe("runs: cancel, run, rename, label, delete", () => {
  test("Cancel: a scheduled run is Cancelled with its task runs; a running one Cancelling", async () => {
    const scheduled = await newRun();
    expect((await client.one(ui.CANCEL_FLOW_RUN, { input: { flow_run_id: scheduled.flowRunId } })).cancel_flow_run).toEqual({ state: "Cancelled" });
    expect(Object.values(await taskRunStates(scheduled.flowRunId))).toEqual(["Cancelled", "Cancelled", "Cancelled"]);
    const running = await newRun(0);
    await coreSets("flow_run", running.flowRunId, { type: "Running" });
    expect((await client.one(ui.CANCEL_FLOW_RUN, { input: { flow_run_id: running.flowRunId } })).cancel_flow_run).toEqual({ state: "Cancelling" });
    expect((await client.flowRun(running.flowRunId)).state).toBe("Cancelling");
  });

  test("Quick run and Run with parameters, context, labels, run config and a name: the run as asked, queued for its labels", async () => {
    const { flowId } = await createFlow({
      parameters: [{ name: "x", slug: "x", required: false, default: 1, type: "prefect.core.parameter.Parameter" }],
    });
    const quick = (await client.one(ui.CREATE_FLOW_RUN, { flowId })).create_flow_run.id;
    expect(await row("SELECT state, parameters, labels FROM flow_run WHERE id = $1", [quick])).toEqual({ state: "Scheduled", parameters: { x: 1 }, labels: [] });
    expect(await agentPoll()).toContain(quick);

    const { create_flow_run } = await client.one(ui.CREATE_FLOW_RUN, {
      flowId,
      flowRunName: "ui-named-run",
      parameters: { x: 5 },
      context: { key: "value" },
      labels: ["ui-b", "ui-a"],
      runConfig: { type: "UniversalRun", labels: ["ignored"] },
      scheduledStartTime: null,
    });
    expect(await row("SELECT name, parameters, context, labels, run_config FROM flow_run WHERE id = $1", [create_flow_run.id])).toEqual({
      name: "ui-named-run",
      parameters: { x: 5 },
      context: { key: "value" },
      labels: ["ui-a", "ui-b"],
      run_config: { type: "UniversalRun", labels: ["ignored"] },
    });
    expect(await agentPoll()).not.toContain(create_flow_run.id);
    expect(await agentPoll(["ui-a", "ui-b"])).toContain(create_flow_run.id);
  });

  test("rename a flow run and a task run, set a run's labels", async () => {
    const { flowRunId, taskRuns } = await newRun();
    const [renamed, renamedTask, labelled] = await client.ok(
      { query: ui.SET_FLOW_RUN_NAME, variables: { input: { flow_run_id: flowRunId, name: "renamed-in-ui" } } },
      { query: ui.SET_TASK_RUN_NAME, variables: { input: { task_run_id: taskRuns.a, name: "task-renamed" } } },
      { query: ui.SET_FLOW_RUN_LABELS, variables: { input: { flow_run_id: flowRunId, labels: ["z", "y"] } } },
    );
    expect([renamed!.set_flow_run_name, renamedTask!.set_task_run_name, labelled!.set_flow_run_labels]).toEqual([
      { success: true },
      { success: true },
      { success: true },
    ]);
    expect(await row("SELECT name, labels FROM flow_run WHERE id = $1", [flowRunId])).toEqual({ name: "renamed-in-ui", labels: ["y", "z"] });
    expect((await row("SELECT name FROM task_run WHERE id = $1", [taskRuns.a])).name).toBe("task-renamed");
  });

  test("delete a flow run: the run, its task runs and states are gone", async () => {
    const { flowRunId } = await newRun();
    expect((await client.one(ui.DELETE_FLOW_RUN, { input: { flow_run_id: flowRunId } })).delete_flow_run).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM flow_run WHERE id = $1", [flowRunId])).toEqual([]);
    expect(await rows("SELECT 1 FROM task_run WHERE flow_run_id = $1", [flowRunId])).toEqual([]);
    expect(await rows("SELECT 1 FROM flow_run_state WHERE flow_run_id = $1", [flowRunId])).toEqual([]);
  });
});

describe("flows and flow groups", () => {
  const HOURLY = { type: "Schedule", clocks: [{ type: "IntervalClock", interval: 3_600_000_000, start_date: null }] };

  test("schedule toggle: on creates the next ten runs, off removes them", async () => {
    const { flowId } = await createFlow({ schedule: HOURLY });
    expect((await client.one(ui.SET_SCHEDULE_ACTIVE, { input: { flow_id: flowId } })).set_schedule_active).toEqual({ success: true });
    expect(await row("SELECT is_schedule_active FROM flow WHERE id = $1", [flowId])).toEqual({ is_schedule_active: true });
    expect(await rows("SELECT 1 FROM flow_run WHERE flow_id = $1 AND auto_scheduled AND state = 'Scheduled'", [flowId])).toHaveLength(10);
    expect((await client.one(ui.SET_SCHEDULE_INACTIVE, { input: { flow_id: flowId } })).set_schedule_inactive).toEqual({ success: true });
    expect(await row("SELECT is_schedule_active FROM flow WHERE id = $1", [flowId])).toEqual({ is_schedule_active: false });
    expect(await rows("SELECT 1 FROM flow_run WHERE flow_id = $1", [flowId])).toEqual([]);
  });

  test("flow group settings: labels, description, default parameters, schedule set and deleted", async () => {
    const { flowGroupId } = await createFlow();
    await client.ok(
      { query: ui.SET_FLOW_GROUP_LABELS, variables: { input: { flow_group_id: flowGroupId, labels: ["gpu", "gpu", "eu"] } } },
      { query: ui.SET_FLOW_GROUP_DESCRIPTION, variables: { input: { flow_group_id: flowGroupId, description: "**markdown**" } } },
      { query: ui.SET_FLOW_GROUP_DEFAULT_PARAMETERS, variables: { input: { flow_group_id: flowGroupId, parameters: { x: 2 } } } },
      {
        query: ui.SET_FLOW_GROUP_SCHEDULE,
        variables: {
          input: {
            flow_group_id: flowGroupId,
            cron_clocks: [{ cron: "0 * * * *", parameter_defaults: { x: 3 } }],
            interval_clocks: [{ interval: 600 }],
            timezone: "Europe/Berlin",
          },
        },
      },
    );
    const group = await row("SELECT labels, description, default_parameters, schedule FROM flow_group WHERE id = $1", [flowGroupId]);
    expect([...group.labels].sort()).toEqual(["eu", "gpu"]);
    expect(group.description).toBe("**markdown**");
    expect(group.default_parameters).toEqual({ x: 2 });
    expect(group.schedule.type).toBe("Schedule");
    expect(group.schedule.clocks).toEqual([
      { type: "CronClock", cron: "0 * * * *", parameter_defaults: { x: 3 }, start_date: { dt: expect.any(String), tz: "Europe/Berlin" } },
      { type: "IntervalClock", interval: 600_000_000, start_date: { dt: expect.any(String), tz: "Europe/Berlin" } },
    ]);
    expect((await client.one(ui.DELETE_FLOW_GROUP_SCHEDULE, { input: { flow_group_id: flowGroupId } })).delete_flow_group_schedule).toEqual({ success: true });
    expect((await row("SELECT schedule FROM flow_group WHERE id = $1", [flowGroupId])).schedule).toBeNull();
  });

  test("heartbeat and Lazarus toggles write the flow group's settings", async () => {
    const { flowId, flowGroupId } = await createFlow();
    const settings = async () => (await row("SELECT settings FROM flow_group WHERE id = $1", [flowGroupId])).settings;
    await client.ok(
      { query: ui.DISABLE_FLOW_HEARTBEAT, variables: { input: { flow_id: flowId } } },
      { query: ui.DISABLE_FLOW_LAZARUS_PROCESS, variables: { input: { flow_id: flowId } } },
    );
    expect(await settings()).toMatchObject({ heartbeat_enabled: false, disable_heartbeat: true, lazarus_enabled: false });
    await client.ok(
      { query: ui.ENABLE_FLOW_HEARTBEAT, variables: { input: { flow_id: flowId } } },
      { query: ui.ENABLE_FLOW_LAZARUS_PROCESS, variables: { input: { flow_id: flowId } } },
    );
    expect(await settings()).toMatchObject({ heartbeat_enabled: true, disable_heartbeat: false, lazarus_enabled: true });
  });

  test("delete a flow (its runs go, its group stays) and a flow group (its flows go)", async () => {
    const { flowId, flowGroupId } = await createFlow();
    await client.one(ui.CREATE_FLOW_RUN, { flowId });
    expect((await client.one(ui.DELETE_FLOW, { input: { flow_id: flowId } })).delete_flow).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM flow WHERE id = $1 UNION ALL SELECT 1 FROM flow_run WHERE flow_id = $1", [flowId])).toEqual([]);
    expect(await rows("SELECT 1 FROM flow_group WHERE id = $1", [flowGroupId])).toHaveLength(1);

    const other = await createFlow();
    expect((await client.one(ui.DELETE_FLOW_GROUP, { input: { flow_group_id: other.flowGroupId } })).delete_flow_group).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM flow WHERE id = $1 UNION ALL SELECT 1 FROM flow_group WHERE id = $2", [other.flowId, other.flowGroupId])).toEqual([]);
  });
});

describe("team settings: projects, cloud hooks, notifications, agents, tenant", () => {
  test("projects: create, rename, describe, move a flow, delete (its flows go)", async () => {
    const created = (await client.one(ui.CREATE_PROJECT, { input: { tenant_id: tenantId, name: unique("p"), description: "first" } })).create_project.id;
    await client.ok(
      { query: ui.SET_PROJECT_NAME, variables: { input: { project_id: created, name: "renamed project" } } },
      { query: ui.SET_PROJECT_DESCRIPTION, variables: { input: { project_id: created, description: "second" } } },
    );
    expect(await row("SELECT name, description FROM project WHERE id = $1", [created])).toEqual({ name: "renamed project", description: "second" });
    const { flowId } = await createFlow();
    expect((await client.one(ui.UPDATE_FLOW_PROJECT, { input: { flow_id: flowId, project_id: created } })).update_flow_project).toEqual({ id: flowId });
    expect((await row("SELECT project_id FROM flow WHERE id = $1", [flowId])).project_id).toBe(created);
    expect((await client.one(ui.DELETE_PROJECT, { input: { project_id: created } })).delete_project).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM project WHERE id = $1 UNION ALL SELECT 1 FROM flow WHERE id = $2", [created, flowId])).toEqual([]);
  });

  test("cloud hooks: create, switch off and on, test (a notification appears), read it, delete it and the hook", async () => {
    const hookId = (
      await client.one(ui.CREATE_CLOUD_HOOK, {
        input: { tenant_id: tenantId, type: "PREFECT_MESSAGE", name: "ui hook", states: ["Failed", "Success"], config: {} },
      })
    ).create_cloud_hook.id;
    expect(await row("SELECT name, type, states, active FROM cloud_hook WHERE id = $1", [hookId])).toEqual({
      name: "ui hook",
      type: "PREFECT_MESSAGE",
      states: ["FAILED", "SUCCESS"],
      active: true,
    });
    await client.one(ui.SET_CLOUD_HOOK_INACTIVE, { input: { cloud_hook_id: hookId } });
    expect((await row("SELECT active FROM cloud_hook WHERE id = $1", [hookId])).active).toBe(false);
    await client.one(ui.SET_CLOUD_HOOK_ACTIVE, { input: { cloud_hook_id: hookId } });
    expect((await row("SELECT active FROM cloud_hook WHERE id = $1", [hookId])).active).toBe(true);

    expect((await client.one(ui.TEST_CLOUD_HOOK, { input: { cloud_hook_id: hookId, state_type: "FAILED" } })).test_cloud_hook).toEqual({
      success: true,
      error: null,
    });
    const { notifications } = await client.one(ui.NOTIFICATIONS);
    const message = notifications.find((n: any) => n.content?.event?.state?.state === "Failed");
    expect(message).toMatchObject({ read: false, type: "CLOUD_HOOK" });
    expect((await client.one(ui.MARK_MESSAGE_AS_READ, { input: { message_id: message.id } })).mark_message_as_read).toEqual({ success: true });
    expect((await row("SELECT read FROM message WHERE id = $1", [message.id])).read).toBe(true);
    expect((await client.one(ui.DELETE_MESSAGE, { input: { message_id: message.id } })).delete_message).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM message WHERE id = $1", [message.id])).toEqual([]);

    expect((await client.one(ui.DELETE_CLOUD_HOOK, { input: { cloud_hook_id: hookId } })).delete_cloud_hook).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM cloud_hook WHERE id = $1", [hookId])).toEqual([]);
  });

  test("agents: the agent list shows a registered agent; clean-up deletes it and keeps its runs", async () => {
    const response = await fetch(stack.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-prefect-core-version": "1.4.1" },
      body: JSON.stringify({
        query: "mutation($input: register_agent_input!) { register_agent(input: $input) { id } }",
        variables: JSON.stringify({ input: { tenant_id: tenantId, type: "LocalAgent", name: "ui-agent", labels: ["x"] } }),
      }),
    });
    const agentId = ((await response.json()) as any).data.register_agent.id;
    const { flowRunId } = await newRun();
    await db.pool.query("UPDATE flow_run SET agent_id = $1 WHERE id = $2", [agentId, flowRunId]);
    expect((await client.one(ui.AGENTS)).agent.map((a: any) => a.id)).toContain(agentId);
    expect((await client.one(ui.DELETE_AGENT, { input: { agent_id: agentId } })).delete_agent).toEqual({ success: true });
    expect((await client.one(ui.AGENTS)).agent.map((a: any) => a.id)).not.toContain(agentId);
    expect(await row("SELECT agent_id FROM flow_run WHERE id = $1", [flowRunId])).toEqual({ agent_id: null });
  });

  test("agent configs: create and delete", async () => {
    const id = (await client.one(ui.CREATE_AGENT_CONFIG, { input: { tenant_id: tenantId, name: "cfg", settings: { a: 1 } } })).create_agent_config.id;
    expect(await row("SELECT name, settings FROM agent_config WHERE id = $1", [id])).toEqual({ name: "cfg", settings: { a: 1 } });
    expect((await client.one(ui.DELETE_AGENT_CONFIG, { input: { agent_config_id: id } })).delete_agent_config).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM agent_config WHERE id = $1", [id])).toEqual([]);
  });

  test("tenant: rename, change the slug, merge settings, delete with confirmation", async () => {
    const slug = unique("other");
    const other = (await client.one(`mutation CreateTenant($input: create_tenant_input!) { create_tenant(input: $input) { id } }`, {
      input: { name: slug, slug },
    })).create_tenant.id;
    await client.ok(
      { query: ui.UPDATE_TENANT_NAME, variables: { input: { tenant_id: other, name: "Renamed team" } } },
      { query: ui.UPDATE_TENANT_SLUG, variables: { input: { tenant_id: other, slug: `${slug}-new` } } },
      { query: ui.UPDATE_TENANT_SETTINGS, variables: { input: { tenant_id: other, settings: { work_queue_paused: false } } } },
    );
    expect(await row("SELECT name, slug, settings FROM tenant WHERE id = $1", [other])).toEqual({
      name: "Renamed team",
      slug: `${slug}-new`,
      settings: { work_queue_paused: false },
    });
    expect((await client.one(ui.DELETE_TENANT, { input: { tenant_id: other, confirm: true } })).delete_tenant).toEqual({ success: true });
    expect(await rows("SELECT 1 FROM tenant WHERE id = $1", [other])).toEqual([]);
  });

  test("a batch with a failing operation answers the others (the UI's errorPolicy 'all')", async () => {
    const { flowRunId } = await newRun();
    const [bad, good] = await client.batch([
      { query: ui.SET_FLOW_RUN_NAME, variables: { input: { flow_run_id: flowRunId, name: "" } } },
      { query: ui.FLOW_RUN, variables: { id: flowRunId } },
    ]);
    expect(bad!.errors?.[0]?.message).toBe("Invalid name");
    expect(good!.data!.flow_run_by_pk.id).toBe(flowRunId);
  });
});
