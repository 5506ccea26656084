/* eslint-disable @typescript-eslint/no-explicit-any -- tests read rows and GraphQL results field by field */
// The Prefect UI v1's page reads in one batch, as App.vue's polls and a page's queries reach the server within the
// BatchHttpLink window: every one answers without an error, and the numbers are the database's.
import { afterAll, beforeAll, expect, test } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { startStack, type Stack } from "../gateway/helpers.ts";
import { serializedFlow, task, unique } from "../mutations/helpers.ts";
import { UiClient } from "./client.ts";
import * as ui from "./documents.ts";

const db = useTestDatabase();
let stack: Stack;
let client: UiClient;
const ids: Record<string, string> = {};

const count = async (sql: string, values: unknown[] = []) => Number((await db.pool.query(sql, values)).rows[0].count);

beforeAll(async () => {
  stack = await startStack("distributed", db.url);
  client = new UiClient(stack.url);
  const slug = unique("pages");
  ids.tenant = (await client.one(`mutation CreateTenant($input: create_tenant_input!) { create_tenant(input: $input) { id } }`, {
    input: { name: slug, slug },
  })).create_tenant.id;
  ids.project = (await client.one(ui.CREATE_PROJECT, { input: { tenant_id: ids.tenant, name: "pages" } })).create_project.id;
  const flow = serializedFlow({ tasks: [task("one"), task("many", { mapped: true })] });
  ids.flow = (await client.one(ui.CREATE_FLOW, { input: { project_id: ids.project, serialized_flow: flow } })).create_flow.id;
  ids.flowGroup = (await db.pool.query("SELECT flow_group_id FROM flow WHERE id = $1", [ids.flow])).rows[0].flow_group_id;
  const runs: string[] = [];
  for (const state of ["Success", "Success", "Failed", "Running", null]) {
    const run = (await client.one(ui.CREATE_FLOW_RUN, { flowId: ids.flow })).create_flow_run.id;
    if (state) await client.one(ui.SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: run, state: { type: state } }] } });
    runs.push(run);
  }
  ids.run = runs[0]!;
  ids.mapped = (await db.pool.query("SELECT tr.id FROM task_run tr JOIN task t ON t.id = tr.task_id WHERE tr.flow_run_id = $1 AND t.slug = 'many'", [ids.run]))
    .rows[0].id;
  await client.one(ui.WRITE_RUN_LOGS, { input: { logs: [{ flow_run_id: ids.run, message: "hello", level: "INFO" }] } });
});

afterAll(async () => {
  await stack?.stop();
});

test("the dashboard, flow, flow-run, logs, calendar, agents and notifications reads in one batch", async () => {
  const day = new Date();
  const [dashboard, group, taskRuns, logs, calendar, agents, notifications, run] = await client.ok(
    { query: ui.DASHBOARD_FLOW_RUNS, variables: { projectId: null, heartbeat: new Date(Date.now() - 86_400_000).toISOString() } },
    { query: ui.FLOW_GROUP, variables: { id: ids.flowGroup } },
    { query: ui.flowRunTaskRuns(ids.mapped!), variables: { flowRunId: ids.run } },
    { query: ui.FLOW_RUN_LOGS, variables: { flowRunId: ids.run } },
    {
      query: ui.CALENDAR_FLOW_RUNS,
      variables: { start: new Date(day.getTime() - 86_400_000).toISOString(), end: new Date(day.getTime() + 86_400_000).toISOString() },
    },
    { query: ui.AGENTS },
    { query: ui.NOTIFICATIONS },
    { query: ui.FLOW_RUN, variables: { id: ids.run } },
  );
  const byState = (state: string) => count("SELECT count(*) FROM flow_run WHERE state = $1", [state]);
  expect(dashboard).toEqual({
    Success: { aggregate: { count: await byState("Success") } },
    Failed: { aggregate: { count: await byState("Failed") } },
    Scheduled: { aggregate: { count: await byState("Scheduled") } },
    Running: { aggregate: { count: await byState("Running") } },
  });
  expect(dashboard!.Success.aggregate.count).toBe(2);
  expect(group!.flow_group_by_pk.flows).toEqual([
    expect.objectContaining({ id: ids.flow, version: 1, archived: false, project: { id: ids.project, name: "pages" }, tasks_aggregate: { aggregate: { count: 2 } } }),
  ]);
  expect(taskRuns!.task_run.map((t: any) => t.task.slug)).toEqual(["many", "one"]);
  expect(taskRuns!.task_run_aggregate.aggregate.count).toBe(2);
  expect(taskRuns!.mapped_run_0).toEqual({ min_start_time: null, max_end_time: null, state_counts: {} });
  expect(logs!.flow_run_by_pk.logs.map((l: any) => l.message)).toEqual(["hello"]);
  expect(calendar!.flow_run).toHaveLength(await count("SELECT count(*) FROM flow_run"));
  expect(agents!.agent).toEqual([]);
  expect(notifications!.notifications).toEqual([]);
  expect(run!.flow_run_by_pk).toMatchObject({ id: ids.run, state: "Success", flow: { id: ids.flow } });
});
