// Tenants, projects, agents, logs, artifacts and messages: acceptance checks 26, 53, 54, 55, 58.
import { describe, expect, test } from "vitest";
import { createFlowRun, createProject, createTenant, setupFlow, task, unique, useMutations } from "./helpers.ts";

const h = useMutations();
const FAKE = "00000000-0000-4000-8000-000000000000";

describe("tenants", () => {
  const CREATE = `mutation($input: create_tenant_input!) { create_tenant(input: $input) { id } }`;

  test("check 54: slug rules, uniqueness, confirm, settings merge", async () => {
    expect(await h.error(CREATE, { input: { name: "x", slug: "hello there" } })).toBe('Slug must be "slugified" (lowercase; no spaces)');
    const slug = unique("dup");
    await h.ok(CREATE, { input: { name: "x", slug } });
    expect(await h.error(CREATE, { input: { name: "y", slug } })).toBe("Uniqueness violation.");
    const tenantId = await createTenant(h);
    const DELETE = `mutation($id: UUID!, $c: Boolean!) { delete_tenant(input: {tenant_id: $id, confirm: $c}) { success } }`;
    expect(await h.error(DELETE, { id: tenantId, c: false })).toBe("Must pass `confirm=True` to proceed.");
    const SETTINGS = `mutation($id: UUID!, $s: JSON) { update_tenant_settings(input: {tenant_id: $id, settings: $s}) { id } }`;
    await h.ok(SETTINGS, { id: tenantId, s: { a: 1 } });
    await h.ok(SETTINGS, { id: tenantId, s: { b: 2 } });
    expect((await h.db.query("SELECT settings FROM tenant WHERE id = $1", [tenantId])).rows[0].settings).toEqual({ a: 1, b: 2 });
    expect(await h.error(SETTINGS, { id: FAKE, s: {} })).toBe("Invalid tenant id.");
    await h.ok(`mutation($id: UUID!) { update_tenant_name(input: {tenant_id: $id, name: "renamed"}) { id } }`, { id: tenantId });
    expect(await h.error(`mutation { update_tenant_name(input: {tenant_id: "${FAKE}", name: "n"}) { id } }`)).toBe("Update failed.");
    expect(await h.error(`mutation($id: UUID!) { update_tenant_slug(input: {tenant_id: $id, slug: "Bad Slug"}) { id } }`, { id: tenantId })).toBe(
      'Slug must be "slugified" (lowercase; no spaces)',
    );
    expect((await h.ok(DELETE, { id: tenantId, c: true })).delete_tenant.success).toBe(true);
  });
});

describe("projects", () => {
  test("check 55: unique per tenant; set_project_name on an unknown id", async () => {
    const CREATE = `mutation($input: create_project_input!) { create_project(input: $input) { id } }`;
    const [a, b] = [await createTenant(h), await createTenant(h)];
    await h.ok(CREATE, { input: { tenant_id: a, name: "same" } });
    const duplicate = await h.gql(CREATE, { input: { tenant_id: a, name: "same" } });
    expect(duplicate.data).toEqual({ create_project: null });
    expect(duplicate.errors![0]!.message).toBe("Uniqueness violation.");
    await h.ok(CREATE, { input: { tenant_id: b, name: "same" } });
    expect(await h.error(`mutation { set_project_name(input: {project_id: "${FAKE}", name: "n"}) { id } }`)).toBe("Update failed");
    const projectId = await createProject(h, a);
    await h.ok(`mutation($id: UUID!) { set_project_description(input: {project_id: $id, description: "d"}) { id } }`, { id: projectId });
    expect((await h.db.query("SELECT description FROM project WHERE id = $1", [projectId])).rows[0].description).toBe("d");
    const DELETE = `mutation($id: UUID!) { delete_project(input: {project_id: $id}) { success } }`;
    expect((await h.ok(DELETE, { id: projectId })).delete_project.success).toBe(true);
    expect((await h.ok(DELETE, { id: projectId })).delete_project.success).toBe(false);
  });
});

describe("agents", () => {
  const REGISTER = `mutation($input: register_agent_input!) { register_agent(input: $input) { id } }`;
  const register = async (input: Record<string, unknown>, headers = { "x-prefect-core-version": "1.4.1" }) =>
    (await h.ok(REGISTER, { input: { type: "LocalAgent", name: "agent", ...input } }, headers)).register_agent.id as string;

  test("check 26: dedupe by sorted labels; None labels stored as []; no tenant attaches to one", async () => {
    const tenantId = await createTenant(h);
    const id = await register({ tenant_id: tenantId, labels: ["foo", "bar", "chris"] });
    expect(await register({ tenant_id: tenantId, labels: ["chris", "foo", "bar"] })).toBe(id);
    expect(await register({ tenant_id: tenantId, labels: ["foo2", "bar2"] })).not.toBe(id);
    const bare = await register({ tenant_id: tenantId, labels: null });
    expect((await h.db.query("SELECT labels, core_version FROM agent WHERE id = $1", [bare])).rows[0]).toEqual({ labels: [], core_version: "1.4.1" });
    const anyTenant = await register({ name: unique("agent") });
    expect((await h.db.query("SELECT tenant_id FROM agent WHERE id = $1", [anyTenant])).rows[0].tenant_id).not.toBeNull();
  });

  test("a nameless registration does not match a named agent", async () => {
    const tenantId = await createTenant(h);
    const named = await register({ tenant_id: tenantId, name: "named" });
    expect(await register({ tenant_id: tenantId, name: null })).not.toBe(named);
  });

  test("agent configs and delete_agent", async () => {
    const tenantId = await createTenant(h);
    const config = await h.ok(`mutation($t: UUID!) { create_agent_config(input: {tenant_id: $t, name: "c"}) { id } }`, { t: tenantId });
    const configId = config.create_agent_config.id;
    expect((await h.db.query("SELECT settings FROM agent_config WHERE id = $1", [configId])).rows[0].settings).toEqual({});
    await h.ok(`mutation($id: UUID!) { update_agent_config(input: {agent_config_id: $id, settings: "{\\"k\\": 1}"}) { success } }`, { id: configId });
    expect((await h.db.query("SELECT name, settings FROM agent_config WHERE id = $1", [configId])).rows[0]).toEqual({ name: "c", settings: { k: 1 } });
    const agentId = await register({ tenant_id: tenantId, agent_config_id: configId });
    expect((await h.ok(`mutation($id: UUID!) { delete_agent(input: {agent_id: $id}) { success } }`, { id: agentId })).delete_agent.success).toBe(true);
    expect((await h.ok(`mutation($id: UUID!) { delete_agent_config(input: {agent_config_id: $id}) { success } }`, { id: configId })).delete_agent_config.success).toBe(true);
  });
});

describe("write_run_logs", () => {
  const WRITE = `mutation($input: write_run_logs_input!) { write_run_logs(input: $input) { success } }`;

  test("check 53: 10 logs → 10 rows; a bad level and a null flow_run_id reject the request", async () => {
    const { flowId, tenantId } = await setupFlow(h);
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const logs = Array.from({ length: 10 }, (_, index) => ({ flow_run_id: flowRunId, message: `log ${index}`, name: "test" }));
    expect((await h.ok(WRITE, { input: { logs } })).write_run_logs.success).toBe(true);
    const { rows } = await h.db.query("SELECT * FROM log WHERE flow_run_id = $1", [flowRunId]);
    expect(rows).toHaveLength(10);
    expect(rows.every((row) => row.task_run_id === null && row.level === "INFO" && row.tenant_id === tenantId)).toBe(true);
    expect(await h.error(WRITE, { input: { logs: [{ flow_run_id: flowRunId, level: "bad-level" }] } })).toContain("got invalid value");
    expect(await h.error(WRITE, { input: { logs: [{ flow_run_id: flowRunId }, { flow_run_id: null }] } })).toContain("Expected non-nullable type");
    expect((await h.db.query("SELECT count(*)::int AS n FROM log WHERE flow_run_id = $1", [flowRunId])).rows[0].n).toBe(10);
  });

  test("a single object for the list, timestamps, levels, task runs; unknown runs dropped", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const taskRunId = (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId])).rows[0].id;
    await h.ok(`mutation { write_run_logs(input: {logs: {flow_run_id: "${flowRunId}", message: "single"}}) { success } }`);
    await h.ok(WRITE, {
      input: {
        logs: [
          { flow_run_id: flowRunId, task_run_id: taskRunId, level: "ERROR", timestamp: "2021-01-01T00:00:00.5+00:00", info: { k: 1 } },
          { flow_run_id: FAKE, message: "dropped" },
        ],
      },
    });
    const { rows } = await h.db.query("SELECT message, level, task_run_id, timestamp, info FROM log WHERE flow_run_id = $1 ORDER BY timestamp", [flowRunId]);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ level: "ERROR", task_run_id: taskRunId, info: { k: 1 } });
    expect(rows[0].timestamp.toISOString()).toBe("2021-01-01T00:00:00.500Z");
    expect(rows[1].message).toBe("single");
  });

  test("a batch sent again (a client retrying after a lost answer) is stored once, even when both race", async () => {
    const { flowId } = await setupFlow(h);
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const at = (second: number) => `2024-05-01T00:00:0${second}.123456+00:00`;
    const batch = [0, 1, 2].map((second) => ({ flow_run_id: flowRunId, message: `line ${second}`, name: "prefect.Task", level: "INFO", timestamp: at(second) }));
    const count = async () => (await h.db.query("SELECT count(*)::int AS n FROM log WHERE flow_run_id = $1", [flowRunId])).rows[0].n;
    await h.ok(WRITE, { input: { logs: batch } });
    await h.ok(WRITE, { input: { logs: batch } });
    expect(await count()).toBe(3);
    // the same lines in another batch (another order) are another batch
    await h.ok(WRITE, { input: { logs: [...batch].reverse() } });
    expect(await count()).toBe(6);
    // two identical batches at once: one is stored
    const racing = [3, 4].map((second) => ({ flow_run_id: flowRunId, message: "race", timestamp: at(second) }));
    await Promise.all(Array.from({ length: 5 }, () => h.ok(WRITE, { input: { logs: racing } })));
    expect(await count()).toBe(8);
    // a batch with a log without a timestamp gets the time of writing: sent twice, it is two batches
    const untimed = [{ flow_run_id: flowRunId, message: "no time" }];
    await h.ok(WRITE, { input: { logs: untimed } });
    await h.ok(WRITE, { input: { logs: untimed } });
    expect(await count()).toBe(10);
  });
});

describe("artifacts and messages", () => {
  test("check 58: tenant must match; defaults to the task run's; update and delete", async () => {
    const { flowId, tenantId } = await setupFlow(h, { tasks: [task("a")] });
    const flowRunId = await createFlowRun(h, { flow_id: flowId });
    const taskRunId = (await h.db.query("SELECT id FROM task_run WHERE flow_run_id = $1", [flowRunId])).rows[0].id;
    const CREATE = `mutation($input: create_task_run_artifact_input!) { create_task_run_artifact(input: $input) { id } }`;
    const otherTenant = await createTenant(h);
    expect(await h.error(CREATE, { input: { task_run_id: taskRunId, kind: "link", data: { link: "x" }, tenant_id: otherTenant } })).toBe("Invalid tenant ID.");
    const id = (await h.ok(CREATE, { input: { task_run_id: taskRunId, kind: "link", data: { link: "x" } } })).create_task_run_artifact.id;
    expect((await h.db.query("SELECT tenant_id FROM task_run_artifact WHERE id = $1", [id])).rows[0].tenant_id).toBe(tenantId);
    expect(await h.error(CREATE, { input: { task_run_id: FAKE, kind: "link", data: {} } })).toBe(`Task run ${FAKE} not found`);
    expect(await h.error(CREATE, { input: { task_run_id: taskRunId, kind: "md", data: { m: "x".repeat(1_000_000) } } })).toBe(
      "Artifact data payload exceeds 1000000 bytes limit.",
    );
    await h.ok(`mutation($id: UUID!) { update_task_run_artifact(input: {task_run_artifact_id: $id, data: "{\\"link\\": \\"y\\"}"}) { success } }`, { id });
    expect((await h.db.query("SELECT data FROM task_run_artifact WHERE id = $1", [id])).rows[0].data).toEqual({ link: "y" });
    const DELETE = `mutation($id: UUID!) { delete_task_run_artifact(input: {task_run_artifact_id: $id}) { success } }`;
    expect((await h.ok(DELETE, { id })).delete_task_run_artifact.success).toBe(true);
  });

  test("messages: read, unread, delete", async () => {
    const tenantId = await createTenant(h);
    const { rows } = await h.db.query("INSERT INTO message (tenant_id, type, text) VALUES ($1, 'CLOUD_HOOK', 't') RETURNING id", [tenantId]);
    const id = rows[0].id;
    const call = (field: string) => h.ok(`mutation($id: UUID!) { ${field}(input: {message_id: $id}) { success } }`, { id });
    await call("mark_message_as_read");
    expect((await h.db.query("SELECT read FROM message WHERE id = $1", [id])).rows[0].read).toBe(true);
    await call("mark_message_as_unread");
    expect((await h.db.query("SELECT read FROM message WHERE id = $1", [id])).rows[0].read).toBe(false);
    expect((await call("delete_message")).delete_message.success).toBe(true);
  });
});
