// v1's Hasura table mutations (enable_table_mutations on) over the seeded database (seed.ts): insert (objects,
// defaults, on_conflict, nested relationship data), insert_one, update (every operator) and update_by_pk, delete
// and delete_by_pk, returning and affected_rows, constraint errors, and one transaction per request.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph({ enableTableMutations: true });
const { tenant, project, flow, flowRun } = ids;

async function errorOf(source: string, variables?: Record<string, unknown>): Promise<string | undefined> {
  const result = await graph.run(source, variables);
  return result.errors?.[0]?.message;
}

const count = async (sqlText: string, values: unknown[] = []) =>
  Number((await graph.db.pool.query<{ n: string }>(`select count(*) as n from ${sqlText}`, values)).rows[0]!.n);

describe("the mutation root", () => {
  test("has v1's table mutations, without the names the mutations service owns", async () => {
    const mutation = graph.graph.schema.getMutationType()!;
    const fields = Object.keys(mutation.getFields());
    expect(fields).toEqual(expect.arrayContaining(["insert_flow_run", "insert_flow_run_one", "update_flow_run", "update_flow_run_by_pk", "delete_flow_run_by_pk", "delete_log", "insert_log_one", "update_utility_traversal"]));
    for (const shadowed of ["delete_flow_run", "delete_project", "delete_tenant", "update_agent_config", "update_task_run_artifact", "delete_task_run_artifact"]) {
      expect(fields).not.toContain(shadowed);
    }
    expect(fields).not.toContain("update_log_by_pk");
    expect(fields).not.toContain("delete_utility_traversal_by_pk");
  });
});

describe("insert", () => {
  test("objects: columns given, defaults for the rest, an explicit null is NULL; returning and affected_rows", async () => {
    const data = await graph.data(`mutation { insert_project(objects: [
      {tenant_id: "${tenant.alpha}", name: "ins-1", description: "one"},
      {tenant_id: "${tenant.alpha}", name: "ins-2", description: null}
    ]) { affected_rows returning { name description tenant { slug } flows_aggregate { aggregate { count } } } } }`);
    expect(data.insert_project).toEqual({
      affected_rows: 2,
      returning: [
        { name: "ins-1", description: "one", tenant: { slug: "alpha" }, flows_aggregate: { aggregate: { count: 0 } } },
        { name: "ins-2", description: null, tenant: { slug: "alpha" }, flows_aggregate: { aggregate: { count: 0 } } },
      ],
    });
    const rows = await graph.db.pool.query(`select id, created from project where name in ('ins-1', 'ins-2')`);
    expect(rows.rows).toHaveLength(2);
    expect(rows.rows.every((r) => r.id && r.created)).toBe(true);
  });

  test("objects with different columns: each row takes the defaults of the columns it does not give", async () => {
    const data = await graph.data(`mutation { insert_tenant(objects: [{name: "T1", slug: "t-1", settings: {a: 1}}, {name: "T2", slug: "t-2", info: {b: 2}}]) {
      affected_rows returning { slug settings info } } }`);
    expect(data.insert_tenant).toEqual({
      affected_rows: 2,
      returning: [
        { slug: "t-1", settings: { a: 1 }, info: null },
        { slug: "t-2", settings: {}, info: { b: 2 } },
      ],
    });
  });

  test("a single object for objects, from a variable", async () => {
    const data = await graph.data(`mutation($objects: [project_insert_input!]!) { insert_project(objects: $objects) { affected_rows returning { name } } }`, {
      objects: { tenant_id: tenant.beta, name: "ins-var" },
    });
    expect(data.insert_project).toEqual({ affected_rows: 1, returning: [{ name: "ins-var" }] });
  });

  test("objects: [] writes nothing", async () => {
    const data = await graph.data(`mutation { insert_project(objects: []) { affected_rows returning { id } } }`);
    expect(data.insert_project).toEqual({ affected_rows: 0, returning: [] });
  });

  test("insert_<t>_one returns the row; every scalar round-trips", async () => {
    const data = await graph.data(`mutation { insert_task_one(object: {
      tenant_id: "${tenant.alpha}", flow_id: "${flow.report}", name: "new-task", slug: "new-task", max_retries: 3,
      retry_delay: "00:10:00", tags: ["a", {b: 1}], mapped: true, created: "2024-05-01T12:00:00.5+02:00"
    }) { name slug max_retries retry_delay tags mapped created flow { name } } }`);
    expect(data.insert_task_one).toEqual({
      name: "new-task",
      slug: "new-task",
      max_retries: 3,
      retry_delay: "00:10:00",
      tags: ["a", { b: 1 }],
      mapped: true,
      created: "2024-05-01T10:00:00.5+00:00",
      flow: { name: "report" },
    });
  });

  test("a table without a primary key or constraints (log): insert and insert_one", async () => {
    const data = await graph.data(`mutation {
      many: insert_log(objects: [{flow_run_id: "${flowRun.d}", message: "m1", timestamp: "2024-06-01T00:00:00Z"}, {flow_run_id: "${flowRun.d}", message: "m2", info: {k: 1}}]) { affected_rows returning { message info } }
      one: insert_log_one(object: {flow_run_id: "${flowRun.d}", message: "m3", level: "INFO"}) { message level }
    }`);
    expect(data).toEqual({
      many: { affected_rows: 2, returning: [{ message: "m1", info: null }, { message: "m2", info: { k: 1 } }] },
      one: { message: "m3", level: "INFO" },
    });
  });

  test("triggers run: a flow run's task runs are visible in returning", async () => {
    const data = await graph.data(`mutation { insert_flow_run_one(object: {tenant_id: "${tenant.alpha}", flow_id: "${flow.etl2}", name: "trig", parameters: {p: 1}}) {
      name parameters version state task_runs_aggregate(where: {map_index: {_eq: -1}}) { aggregate { count } } } }`);
    expect(data.insert_flow_run_one).toEqual({ name: "trig", parameters: { p: 1 }, version: 0, state: null, task_runs_aggregate: { aggregate: { count: 10 } } });
  });
});

describe("insert with on_conflict", () => {
  test("update_columns: [] does nothing on a conflict (insert_one returns null)", async () => {
    const data = await graph.data(`mutation {
      one: insert_project_one(object: {tenant_id: "${tenant.alpha}", name: "proj-one", description: "changed"}, on_conflict: {constraint: project_tenant_id_name_key}) { id }
      many: insert_project(objects: [{tenant_id: "${tenant.alpha}", name: "proj-one"}, {tenant_id: "${tenant.alpha}", name: "oc-new"}], on_conflict: {constraint: project_tenant_id_name_key, update_columns: []}) { affected_rows returning { name } }
    }`);
    expect(data).toEqual({ one: null, many: { affected_rows: 1, returning: [{ name: "oc-new" }] } });
    expect((await graph.db.pool.query(`select description from project where id = $1`, [project.one])).rows[0]).toEqual({ description: "first" });
  });

  test("update_columns updates the existing row and returns it", async () => {
    const data = await graph.data(`mutation { insert_project(objects: [{tenant_id: "${tenant.beta}", name: "proj-three", description: "upserted"}], on_conflict: {constraint: project_tenant_id_name_key, update_columns: [description]}) {
      affected_rows returning { id name description } } }`);
    expect(data.insert_project).toEqual({ affected_rows: 1, returning: [{ id: project.three, name: "proj-three", description: "upserted" }] });
  });

  test("on_conflict where: only matching existing rows are updated", async () => {
    const source = (description: string) =>
      `mutation { insert_project(objects: {tenant_id: "${tenant.alpha}", name: "proj-two", description: "${description}"}, on_conflict: {constraint: project_tenant_id_name_key, update_columns: description, where: {description: {_is_null: true}}}) { affected_rows returning { description } } }`;
    expect((await graph.data(source("was null"))).insert_project).toEqual({ affected_rows: 1, returning: [{ description: "was null" }] });
    expect((await graph.data(source("again"))).insert_project).toEqual({ affected_rows: 0, returning: [] });
    expect((await graph.db.pool.query(`select description from project where id = $1`, [project.two])).rows[0]).toEqual({ description: "was null" });
  });

  test("the primary key constraint (the server's own upserts)", async () => {
    const data = await graph.data(`mutation { insert_agent_one(object: {id: "${ids.agent.two}", tenant_id: "${tenant.alpha}", name: "renamed"}, on_conflict: {constraint: agent_pkey, update_columns: [name]}) { id name type } }`);
    expect(data.insert_agent_one).toEqual({ id: ids.agent.two, name: "renamed", type: "DockerAgent" });
  });
});

describe("nested inserts", () => {
  test("an object relationship is inserted first and fills the foreign key; array relationships after", async () => {
    const data = await graph.data(`mutation { insert_flow(objects: [{
      name: "nested", version: 1, tenant_id: "${tenant.alpha}",
      project: {data: {tenant_id: "${tenant.alpha}", name: "nested-project"}},
      flow_group: {data: {tenant_id: "${tenant.alpha}", name: "nested-group"}},
      tasks: {data: [{name: "n1", slug: "n1", tenant_id: "${tenant.alpha}"}, {name: "n2", slug: "n2", tenant_id: "${tenant.alpha}"}]}
    }]) { affected_rows returning { name project { name } flow_group { name } tasks(order_by: {slug: asc}) { slug flow { name } } } } }`);
    expect(data.insert_flow).toEqual({
      affected_rows: 5,
      returning: [{ name: "nested", project: { name: "nested-project" }, flow_group: { name: "nested-group" }, tasks: [{ slug: "n1", flow: { name: "nested" } }, { slug: "n2", flow: { name: "nested" } }] }],
    });
  });

  test("a nested object relationship with on_conflict reuses the existing row", async () => {
    const data = await graph.data(`mutation { insert_flow_run_state_one(object: {
      state: "Scheduled", serialized_state: {type: "Scheduled"}, version: 0,
      flow_run: {data: {id: "${flowRun.d}", flow_id: "${flow.betaEtl}"}, on_conflict: {constraint: flow_run_pkey, update_columns: [id]}}
    }) { state flow_run { id name } } }`);
    expect(data.insert_flow_run_state_one).toEqual({ state: "Scheduled", flow_run: { id: flowRun.d, name: "run-d" } });
  });

  test("a foreign key given beside its object relationship is an error, and nothing is written", async () => {
    const message = await errorOf(`mutation { insert_flow_one(object: {name: "bad", project_id: "${project.one}", project: {data: {tenant_id: "${tenant.alpha}", name: "bad-project"}}, flow_group_id: "${ids.flowGroup.etl}"}) { id } }`);
    expect(message).toBe('cannot insert object relationship "project" as "project_id" column values are already determined');
    expect(await count(`project where name = 'bad-project'`)).toBe(0);
  });

  test("a nested object relationship skipped by on_conflict stops the insert", async () => {
    const message = await errorOf(`mutation { insert_flow_one(object: {name: "bad2", flow_group_id: "${ids.flowGroup.etl}", project: {data: {tenant_id: "${tenant.alpha}", name: "proj-one"}, on_conflict: {constraint: project_tenant_id_name_key}}}) { id } }`);
    expect(message).toBe('cannot proceed to insert object relation "project" since insert to table "project" affects zero rows');
  });
});

describe("constraint errors (Hasura's texts, code constraint-violation)", () => {
  test.each([
    ["Uniqueness violation", `insert_project_one(object: {tenant_id: "${tenant.alpha}", name: "proj-one"}) { id }`, /^Uniqueness violation\. A row with the same values already exists \(constraint project_tenant_id_name_key of project\)\.$/],
    ["Foreign key violation", `insert_project_one(object: {tenant_id: "${ids.missing}", name: "orphan"}) { id }`, /^Foreign key violation\. The row refers to a row that does not exist, or other rows still refer to it \(constraint project_tenant_id_fkey of project\)\.$/],
    ["Not-NULL violation", `insert_project_one(object: {tenant_id: "${tenant.alpha}"}) { id }`, /^Not-NULL violation\. A required column has no value \(column name of project\)\.$/],
  ])("%s", async (_name, field, message) => {
    const result = await graph.run(`mutation { ${field} }`);
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(result.errors?.[0]?.extensions?.code).toBe("constraint-violation");
    expect(result.data).toBeNull();
  });
});

describe("update", () => {
  test("_set and _inc with where; returning shows the new values", async () => {
    const data = await graph.data(`mutation { update_flow_run(where: {id: {_in: ["${flowRun.a}", "${flowRun.b}"]}}, _set: {state_message: "bulk", heartbeat: "2024-07-01T00:00:00Z"}, _inc: {version: 10, times_resurrected: 1}) {
      affected_rows returning { name version times_resurrected state_message heartbeat } } }`);
    expect(data.update_flow_run).toEqual({
      affected_rows: 2,
      returning: expect.arrayContaining([
        { name: "run-a", version: 13, times_resurrected: 1, state_message: "bulk", heartbeat: "2024-07-01T00:00:00+00:00" },
        { name: "run-b", version: 15, times_resurrected: 3, state_message: "bulk", heartbeat: "2024-07-01T00:00:00+00:00" },
      ]),
    });
  });

  test("the jsonb operators", async () => {
    await graph.db.pool.query(`update flow_run set context = '{"a": 1, "b": {"c": 2, "d": 3}}', labels = '["x", "y", "z"]' where id = $1`, [flowRun.c]);
    const data = await graph.data(`mutation {
      a: update_flow_run_by_pk(pk_columns: {id: "${flowRun.c}"}, _append: {parameters: {added: true}}, _prepend: {labels: ["first"]}, _delete_key: {context: "a"}) { parameters labels context }
      b: update_flow_run_by_pk(pk_columns: {id: "${flowRun.c}"}, _delete_elem: {labels: -1}, _delete_at_path: {context: ["b", "c"]}) { labels context }
    }`);
    expect(data).toEqual({
      a: { parameters: { added: true }, labels: ["first", "x", "y", "z"], context: { b: { c: 2, d: 3 } } },
      b: { labels: ["first", "x", "y"], context: { b: { d: 3 } } },
    });
  });

  test("_set null sets NULL; a null _inc changes nothing", async () => {
    const data = await graph.data(`mutation { update_flow_run_by_pk(pk_columns: {id: "${flowRun.d}"}, _set: {name: null}, _inc: {version: null}) { name version } }`);
    expect(data.update_flow_run_by_pk).toEqual({ name: null, version: 2 });
  });

  test("by_pk: a missing row is null; where: nothing matching is affected_rows 0", async () => {
    const data = await graph.data(`mutation {
      missing: update_flow_by_pk(pk_columns: {id: "${ids.missing}"}, _set: {description: "x"}) { id }
      none: update_flow(where: {name: {_eq: "nope"}}, _set: {description: "x"}) { affected_rows returning { id } }
    }`);
    expect(data).toEqual({ missing: null, none: { affected_rows: 0, returning: [] } });
  });

  test("where: {} updates every row; null collapse applies", async () => {
    const data = await graph.data(`mutation($id: uuid) { update_message(where: {id: {_eq: $id}}, _set: {read: true}) { affected_rows } }`, { id: null });
    expect(data.update_message).toEqual({ affected_rows: 1 });
  });

  test("affected_rows alone counts in the database instead of reading the rows back", async () => {
    const result = await graph.run(`mutation { update_task(where: {flow_id: {_eq: "${flow.etl2}"}}, _inc: {max_retries: 0}) { affected_rows } }`);
    expect(result.data).toEqual({ update_task: { affected_rows: 10 } });
    expect(result.statements).toEqual([expect.stringMatching(/^with written as \(update .* returning 1\) select count\(\*\)::int as n from written$/s)]);
  });

  test.each([
    ["no operator", `update_flow(where: {}) { affected_rows }`, "at least any one of _append, _delete_at_path, _delete_elem, _delete_key, _inc, _prepend, _set is expected"],
    ["a column under two operators", `update_flow(where: {}, _set: {version: 1}, _inc: {version: 1}) { affected_rows }`, 'column found in multiple operators; "version" in _inc, _set'],
    ["an empty _set", `update_project(where: {}, _set: {}) { affected_rows }`, "at least one column to update is expected"],
  ])("%s is an error", async (_name, field, message) => {
    expect(await errorOf(`mutation { ${field} }`)).toBe(message);
  });
});

describe("delete", () => {
  test("delete_<t>(where) returns the deleted rows", async () => {
    await graph.data(`mutation { insert_edge(objects: [{tenant_id: "${tenant.alpha}", flow_id: "${flow.etl2}", upstream_task_id: "${ids.task.t6}", downstream_task_id: "${ids.task.t10}"}]) { affected_rows } }`);
    const data = await graph.data(`mutation { delete_edge(where: {upstream_task_id: {_eq: "${ids.task.t6}"}}) { affected_rows returning { upstream_task { name } downstream_task { name } } } }`);
    expect(data.delete_edge).toEqual({ affected_rows: 1, returning: [{ upstream_task: { name: "t6" }, downstream_task: { name: "t10" } }] });
    expect(await count(`edge where upstream_task_id = $1`, [ids.task.t6])).toBe(0);
  });

  test("delete_<t>_by_pk returns the row, or null when there is none", async () => {
    const data = await graph.data(`mutation {
      gone: delete_cloud_hook_by_pk(id: "${ids.cloudHook}") { id name config }
      again: delete_cloud_hook_by_pk(id: "${ids.cloudHook}") { id }
    }`);
    expect(data).toEqual({ gone: { id: ids.cloudHook, name: "hook", config: { url: "http://x" } }, again: null });
  });
});

describe("one transaction per request", () => {
  test("a failing field rolls back the fields before it; the response has errors and no data", async () => {
    const result = await graph.run(`mutation {
      first: insert_project_one(object: {tenant_id: "${tenant.alpha}", name: "tx-1"}) { id }
      second: insert_project_one(object: {tenant_id: "${tenant.alpha}", name: "tx-1"}) { id }
      third: insert_project_one(object: {tenant_id: "${tenant.alpha}", name: "tx-3"}) { id }
    }`);
    expect(result.data).toBeNull();
    expect(result.errors?.map((e) => e.message)).toEqual([expect.stringMatching(/^Uniqueness violation\./)]);
    expect(await count(`project where name like 'tx-%'`)).toBe(0);
  });

  test("later fields see what earlier fields wrote", async () => {
    const data = await graph.data(`mutation {
      a: insert_project_one(object: {tenant_id: "${tenant.beta}", name: "tx-seen"}) { name }
      b: update_project(where: {name: {_eq: "tx-seen"}}, _set: {description: "seen"}) { affected_rows returning { description } }
    }`);
    expect(data).toEqual({ a: { name: "tx-seen" }, b: { affected_rows: 1, returning: [{ description: "seen" }] } });
  });

  test("each field's returning is read before the next field runs", async () => {
    const set = (alias: string, value: string) =>
      `${alias}: update_project(where: {name: {_eq: "tx-seen"}}, _set: {description: "${value}"}) { returning { description } }`;
    const data = await graph.data(`mutation { ${set("a", "one")} ${set("b", "two")} }`);
    expect(data).toEqual({ a: { returning: [{ description: "one" }] }, b: { returning: [{ description: "two" }] } });
  });

  test("queries run as before alongside", async () => {
    const data = await graph.data(`{ project(where: {name: {_eq: "tx-seen"}}) { description } }`);
    expect(data).toEqual({ project: [{ description: "two" }] });
  });
});
