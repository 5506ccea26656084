// Flows and flow groups: acceptance checks 27–31, 35 (archive part), 40, 41, 59, 60.
import { gzipSync, deflateSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { createFlow, createFlowRun, createProject, createTenant, edge, serializedFlow, setupFlow, task, useMutations } from "./helpers.ts";

const h = useMutations();
const flow = async (id: string) => (await h.db.query("SELECT * FROM flow WHERE id = $1", [id])).rows[0];
const group = async (id: string) => (await h.db.query("SELECT * FROM flow_group WHERE id = $1", [id])).rows[0];
const COMPRESSED = `mutation($input: create_flow_from_compressed_string_input!) { create_flow_from_compressed_string(input: $input) { id } }`;

describe("create_flow", () => {
  test("check 27: a new name gets version 1, a random version group and a group with v1's settings", async () => {
    const { flowId, tenantId } = await setupFlow(h);
    const row = await flow(flowId);
    expect(row.version).toBe(1);
    expect(row.version_group_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(row.tenant_id).toBe(tenantId);
    const flowGroup = await group(row.flow_group_id);
    expect(flowGroup.name).toBe(row.version_group_id);
    expect(flowGroup.settings).toEqual({ heartbeat_enabled: true, lazarus_enabled: true, version_locking_enabled: false, idempotency_key: null });
  });

  test("check 28: versioning by name and project; explicit groups join across projects", async () => {
    const tenantId = await createTenant(h);
    const projectId = await createProject(h, tenantId);
    const v1 = await createFlow(h, projectId, { name: "same" });
    const v2 = await createFlow(h, projectId, { name: "same" });
    const [one, two] = [await flow(v1), await flow(v2)];
    expect(two.version_group_id).toBe(one.version_group_id);
    expect([one.version, two.version]).toEqual([1, 2]);
    expect([one.archived, two.archived]).toEqual([true, false]);
    expect((await flow(await createFlow(h, projectId, { name: "different" }))).version_group_id).not.toBe(one.version_group_id);
    const otherProject = await createProject(h, tenantId);
    expect((await flow(await createFlow(h, otherProject, { name: "same" }))).version_group_id).not.toBe(one.version_group_id);
    const joined = await flow(await createFlow(h, otherProject, { name: "joined", version_group_id: one.version_group_id }));
    expect(joined.version).toBe(3);
    expect((await flow(v2)).archived).toBe(true);
  });

  test("check 29: the same version group id in two tenants makes two groups", async () => {
    const a = await createProject(h, await createTenant(h));
    const b = await createProject(h, await createTenant(h));
    const [fa, fb] = [await flow(await createFlow(h, a, { version_group_id: "testing" })), await flow(await createFlow(h, b, { version_group_id: "testing" }))];
    expect(fa.flow_group_id).not.toBe(fb.flow_group_id);
    expect([fa.version, fb.version, fa.archived, fb.archived]).toEqual([1, 1, false, false]);
  });

  test("check 30: idempotency keys", async () => {
    const projectId = await createProject(h, await createTenant(h));
    const tasks = [task("a"), task("b")];
    const first = await createFlow(h, projectId, { name: "idem", version_group_id: "idem-g", idempotency_key: "foo", tasks });
    const again = await createFlow(h, projectId, { name: "idem", version_group_id: "idem-g", idempotency_key: "foo", tasks });
    expect(again).toBe(first);
    expect((await h.db.query("SELECT count(*)::int AS n FROM task WHERE flow_id = $1", [first])).rows[0].n).toBe(2);
    for (const keys of [["foo", "bar"], [null, null], ["foo", null, "foo"], ["foo", "bar", "foo"]]) {
      const vg = `g-${keys.join("-")}`;
      const ids = [];
      for (const key of keys) ids.push(await createFlow(h, projectId, { name: vg, version_group_id: vg, idempotency_key: key }));
      expect((await Promise.all(ids.map(flow))).map((row) => row.version)).toEqual(keys.map((_, index) => index + 1));
    }
    await h.ok(`mutation($id: UUID!) { archive_flow(input: {flow_id: $id}) { success } }`, { id: first });
    const afterArchive = await createFlow(h, projectId, { name: "idem", version_group_id: "idem-g", idempotency_key: "foo", tasks });
    expect(afterArchive).not.toBe(first);
    expect((await flow(afterArchive)).version).toBe(2);
  });

  test("check 31: flows built with a Core older than the cutoff are refused", async () => {
    const projectId = await createProject(h, await createTenant(h));
    const message = await h.error(`mutation($input: create_flow_input!) { create_flow(input: $input) { id } }`, {
      input: { project_id: projectId, serialized_flow: serializedFlow({ __version__: "0.0.42" }) },
    });
    expect(message).toBe("Prefect backends require new flows to be built with Prefect 0.6.1+, but this flow was built with Prefect 0.0.42.");
  });

  test("an unknown project is refused and nothing is written", async () => {
    const message = await h.error(`mutation($input: create_flow_input!) { create_flow(input: $input) { id } }`, {
      input: { project_id: "00000000-0000-4000-8000-000000000000", serialized_flow: serializedFlow() },
    });
    expect(message).toBe("Invalid project.");
  });

  test("tasks, edges and flags; extra fields kept in serialized_flow", async () => {
    const { flowId, tenantId } = await setupFlow(h, {
      tasks: [task("a", { retry_delay: 300, max_retries: 2, tags: ["t"] }), task("b"), task("c")],
      edges: [edge("a", "b", { mapped: true }), edge("b", "c")],
      extra: { custom_field: { kept: true } },
    });
    expect((await flow(flowId)).serialized_flow.custom_field).toEqual({ kept: true });
    const { rows } = await h.db.query(
      `SELECT slug, tenant_id, mapped, is_root_task, is_terminal_task, is_reference_task, retry_delay::text, max_retries, tags, trigger
       FROM task WHERE flow_id = $1 ORDER BY slug`,
      [flowId],
    );
    expect(rows.map((row) => [row.slug, row.mapped, row.is_root_task, row.is_terminal_task, row.is_reference_task])).toEqual([
      ["a", false, true, false, false],
      ["b", true, false, false, false],
      ["c", false, false, true, true],
    ]);
    expect(rows[0]).toMatchObject({ tenant_id: tenantId, retry_delay: "00:05:00", max_retries: 2, tags: ["t"], trigger: "prefect.triggers.all_successful" });
    const edges = await h.db.query("SELECT tenant_id FROM edge WHERE flow_id = $1", [flowId]);
    expect(edges.rows).toEqual([{ tenant_id: tenantId }, { tenant_id: tenantId }]);
  });

  test("check 59: compressed flows: gzip only", async () => {
    const projectId = await createProject(h, await createTenant(h));
    const input = (serialized_flow: string) => ({ input: { project_id: projectId, serialized_flow, set_schedule_active: false } });
    expect(await h.error(COMPRESSED, input("42"))).toBe("Unable to decompress serialized flow");
    const json = JSON.stringify(serializedFlow({ tasks: [task("x")] }));
    expect(await h.error(COMPRESSED, input(deflateSync(json).toString("base64")))).toBe("Unable to decompress serialized flow");
    const data = await h.ok(COMPRESSED, input(gzipSync(json).toString("base64")));
    const row = await flow(data.create_flow_from_compressed_string.id);
    expect(row.serialized_flow).toEqual(JSON.parse(json));
  });
});

describe("register_tasks / register_edges", () => {
  const TASKS = `mutation($input: register_tasks_input!) { register_tasks(input: $input) { success } }`;
  const EDGES = `mutation($input: register_edges_input!) { register_edges(input: $input) { success } }`;

  test("check 60: edges before tasks fail; tasks twice are not duplicated; Core's empty batches work", async () => {
    const { flowId } = await setupFlow(h);
    const message = await h.error(EDGES, { input: { flow_id: flowId, serialized_edges: [edge("a", "b")] } });
    expect(message).toBe("Edges could not be registered - some edges reference tasks that do not exist within this flow.");
    for (let round = 0; round < 2; round += 1) {
      expect((await h.ok(TASKS, { input: { flow_id: flowId, serialized_tasks: [task("a"), task("b")] } })).register_tasks.success).toBe(true);
    }
    expect((await h.db.query("SELECT count(*)::int AS n FROM task WHERE flow_id = $1", [flowId])).rows[0].n).toBe(2);
    expect((await flow(flowId)).serialized_flow.tasks.map((t: { slug: string }) => t.slug)).toEqual(["a", "b"]);
    await h.ok(EDGES, { input: { flow_id: flowId, serialized_edges: [edge("a", "b")] } });
    await h.ok(EDGES, { input: { flow_id: flowId, serialized_edges: [edge("a", "b")] } });
    await h.ok(EDGES, { input: { flow_id: flowId, serialized_edges: [] } });
    await h.ok(TASKS, { input: { flow_id: flowId, serialized_tasks: [] } });
    expect((await h.db.query("SELECT count(*)::int AS n FROM edge WHERE flow_id = $1", [flowId])).rows[0].n).toBe(1);
    const { rows } = await h.db.query("SELECT slug, is_root_task, is_terminal_task FROM task WHERE flow_id = $1 ORDER BY slug", [flowId]);
    expect(rows).toEqual([
      { slug: "a", is_root_task: true, is_terminal_task: false },
      { slug: "b", is_root_task: false, is_terminal_task: true },
    ]);
  });
});

describe("archive, delete, project, settings", () => {
  test("check 35 (archive): auto Scheduled runs deleted, manual Scheduled runs cancelled; unknown → false; null → error", async () => {
    const { flowId } = await setupFlow(h, { tasks: [task("a")] });
    const auto = await createFlowRun(h, { flow_id: flowId });
    await h.db.query("UPDATE flow_run SET auto_scheduled = true WHERE id = $1", [auto]);
    const manual = await createFlowRun(h, { flow_id: flowId });
    const ARCHIVE = `mutation($id: UUID!) { archive_flow(input: {flow_id: $id}) { success } }`;
    expect((await h.ok(ARCHIVE, { id: flowId })).archive_flow.success).toBe(true);
    expect((await flow(flowId)).archived).toBe(true);
    expect((await h.db.query("SELECT count(*)::int AS n FROM flow_run WHERE id = $1", [auto])).rows[0].n).toBe(0);
    const { rows } = await h.db.query("SELECT state, state_message FROM flow_run WHERE id = $1", [manual]);
    expect(rows[0]).toEqual({ state: "Cancelled", state_message: `Flow ${flowId} was archived.` });
    expect((await h.ok(ARCHIVE, { id: "00000000-0000-4000-8000-000000000000" })).archive_flow.success).toBe(false);
    expect(await h.error(`mutation { archive_flow(input: {flow_id: null}) { success } }`)).toContain('Expected value of type "UUID!"');
  });

  test("delete_flow keeps the flow group; update_flow_project stays in the tenant", async () => {
    const { flowId, tenantId } = await setupFlow(h);
    const groupId = (await flow(flowId)).flow_group_id;
    const otherProject = await createProject(h, tenantId);
    const MOVE = `mutation($f: UUID!, $p: UUID!) { update_flow_project(input: {flow_id: $f, project_id: $p}) { id } }`;
    expect((await h.ok(MOVE, { f: flowId, p: otherProject })).update_flow_project.id).toBe(flowId);
    expect((await flow(flowId)).project_id).toBe(otherProject);
    const foreign = await createProject(h, await createTenant(h));
    expect(await h.error(MOVE, { f: flowId, p: foreign })).toBe("Invalid flow or project ID.");
    expect((await h.ok(`mutation($id: UUID!) { delete_flow(input: {flow_id: $id}) { success } }`, { id: flowId })).delete_flow.success).toBe(true);
    expect(await flow(flowId)).toBeUndefined();
    expect(await group(groupId)).toBeDefined();
  });

  test("check 41: heartbeat and Lazarus switches", async () => {
    const { flowId } = await setupFlow(h);
    const groupId = (await flow(flowId)).flow_group_id;
    const call = (field: string) => h.ok(`mutation($id: UUID!) { ${field}(input: {flow_id: $id}) { success } }`, { id: flowId });
    await call("enable_flow_heartbeat");
    expect((await group(groupId)).settings).toMatchObject({ heartbeat_enabled: true, disable_heartbeat: false });
    await call("disable_flow_heartbeat");
    expect((await group(groupId)).settings).toMatchObject({ heartbeat_enabled: false, disable_heartbeat: true });
    await h.db.query("UPDATE flow_group SET settings = '{}' WHERE id = $1", [groupId]);
    await call("disable_flow_lazarus_process");
    expect((await group(groupId)).settings).toEqual({ lazarus_enabled: false });
    const message = await h.error(`mutation { enable_flow_heartbeat(input: {flow_id: "00000000-0000-4000-8000-000000000000"}) { success } }`);
    expect(message).toBe("Invalid flow ID.");
  });

  test("check 40: flow group labels, description, run_config, delete", async () => {
    const { flowId } = await setupFlow(h);
    const groupId = (await flow(flowId)).flow_group_id;
    const LABELS = `mutation($id: UUID!, $l: [String!]) { set_flow_group_labels(input: {flow_group_id: $id, labels: $l}) { success } }`;
    await h.ok(LABELS, { id: groupId, l: ["meep", "morp", "meep"] });
    expect((await group(groupId)).labels.sort()).toEqual(["meep", "morp"]);
    await h.ok(LABELS, { id: groupId, l: null });
    expect((await group(groupId)).labels).toBeNull();
    await h.ok(LABELS, { id: groupId, l: [] });
    expect((await group(groupId)).labels).toEqual([]);
    await h.ok(`mutation($id: UUID!) { set_flow_group_description(input: {flow_group_id: $id, description: "d"}) { success } }`, { id: groupId });
    await h.ok(`mutation($id: UUID!) { set_flow_group_run_config(input: {flow_group_id: $id, run_config: "{\\"type\\": \\"LocalRun\\"}"}) { success } }`, { id: groupId });
    expect(await group(groupId)).toMatchObject({ description: "d", run_config: { type: "LocalRun" } });
    expect((await h.ok(`mutation($id: UUID!) { delete_flow_group(input: {flow_group_id: $id}) { success } }`, { id: groupId })).delete_flow_group.success).toBe(true);
    expect(await flow(flowId)).toBeUndefined();
  });
});
