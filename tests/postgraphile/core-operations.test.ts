// Every table-reading operation Prefect Core 1.4.1 sends (docs/using-prefect-core.md), written as Core renders it:
// anonymous `query { … }` documents with 4-space indentation, every argument inlined (uuids, timestamps and strings as
// JSON string literals, enum values bare, dict arguments as `{ k: v }` in insertion order) and no variables. Each must
// run and return v1's result shape for the seeded database (seed.ts, plus the rows added below).
import { beforeAll, describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph();
const { flow, flowRun, task, tenant, project } = ids;
/** What the flow-run trigger writes into the task runs it creates. */
const CREATED = { type: "Pending", message: "Task run created" };

/** Task run ids of run-a and run-b by task slug (the flow-run trigger created them). */
const taskRunOf: Record<"a" | "b", Record<string, string>> = { a: {}, b: {} };
let mappedChildren: string[] = [];

beforeAll(async () => {
  const db = graph.db.pool;
  // Two cached results of run-b (#21), two mapped children of run-a's t7 (#36), a scheduled state of run-c (#40).
  await db.query(
    `update task_run set state = 'Cached', cache_key = 'k1', state_timestamp = t.ts::timestamptz, serialized_state = t.state::jsonb
     from (values ($2::uuid, '2024-03-01T00:00:00Z', '{"type": "Cached", "n": 1}'), ($3::uuid, '2024-03-02T00:00:00Z', '{"type": "Cached", "n": 2}')) as t(task, ts, state)
     where flow_run_id = $1 and task_id = t.task`,
    [flowRun.b, task.t1, task.t2],
  );
  const children = await db.query<{ id: string }>(
    `insert into task_run (tenant_id, flow_run_id, task_id, map_index, state, state_start_time) values
       ($1, $2, $3, 1, 'Running', '2024-01-01T00:00:30Z'), ($1, $2, $3, 0, 'Success', null) returning id`,
    [tenant.alpha, flowRun.a, task.t7],
  );
  mappedChildren = children.rows.map((r) => r.id).reverse(); // map_index 0, 1
  await db.query(
    `insert into flow_run_state (tenant_id, flow_run_id, state, serialized_state, version, timestamp, start_time, created) values
       ($1, $2, 'Scheduled', '{"type": "Scheduled"}', 0, '2024-01-03T00:00:00Z', '2024-01-03T12:30:00.5Z', '2024-01-03T00:00:00Z')`,
    [tenant.alpha, flowRun.c],
  );
  const runs = await db.query<{ id: string; flow_run_id: string; slug: string }>(
    `select tr.id, tr.flow_run_id, t.slug from task_run tr join task t on t.id = tr.task_id where tr.map_index = -1 and tr.flow_run_id in ($1, $2)`,
    [flowRun.a, flowRun.b],
  );
  for (const row of runs.rows) taskRunOf[row.flow_run_id === flowRun.a ? "a" : "b"][row.slug] = row.id;
});

describe("registration and tenants (#2–#4, #6, #13, #14, #42)", () => {
  test("#2 tenant { id }: the first row is the default tenant", async () => {
    const data = await graph.data(`query {\n    tenant {\n        id\n    }\n}`);
    expect(data).toEqual({ tenant: [{ id: tenant.alpha }, { id: tenant.beta }] });
  });

  test("#3 tenant(order_by: { slug: asc })", async () => {
    const data = await graph.data(`query {\n    tenant(order_by: { slug: asc }) {\n        id\n        slug\n        name\n    }\n}`);
    expect(data).toEqual({
      tenant: [
        { id: tenant.alpha, slug: "alpha", name: "Alpha" },
        { id: tenant.beta, slug: "beta", name: "Beta" },
      ],
    });
  });

  test("#4 tenant { id slug }", async () => {
    const data = await graph.data(`query {\n    tenant {\n        id\n        slug\n    }\n}`);
    expect((data.tenant as unknown[])[0]).toEqual({ id: tenant.alpha, slug: "alpha" });
  });

  test("#6 project(where: { name: { _eq } }) — found and not found", async () => {
    const found = await graph.data(`query {\n    project(where: { name: { _eq: "proj-two" } }) {\n        id\n    }\n}`);
    expect(found).toEqual({ project: [{ id: project.two }] });
    const missing = await graph.data(`query {\n    project(where: { name: { _eq: "nope" } }) {\n        id\n    }\n}`);
    expect(missing).toEqual({ project: [] });
  });

  test("#13 flow_by_pk { flow_group_id }", async () => {
    const data = await graph.data(`query {\n    flow_by_pk(id: "${flow.etl2}") {\n        flow_group_id\n    }\n}`);
    expect(data).toEqual({ flow_by_pk: { flow_group_id: ids.flowGroup.etl } });
  });

  test("#14 the previous version: _and given one object, order_by version desc, limit 1", async () => {
    const data = await graph.data(
      `query {\n    flow(where: { _and: { name: { _eq: "etl" }, project: { id: { _eq: "${project.one}" } } } }, order_by: { version: desc }, limit: 1) {\n        id\n        version\n    }\n}`,
    );
    expect(data).toEqual({ flow: [{ id: flow.etl2, version: 2 }] });
  });

  test.each([
    [`{ slug: { _eq: "beta" } }`, "", [tenant.beta]],
    [`{ id: { _eq: "${tenant.alpha}" } }`, "", [tenant.alpha]],
    [`{ slug: { _eq: null }, id: { _eq: null } }`, ", order_by: { slug: desc }", [tenant.beta, tenant.alpha]],
  ])("#42 TenantView: tenant(where: %s%s)", async (where, orderBy, expected) => {
    const data = await graph.data(`query {\n    tenant(where: ${where}${orderBy}) {\n        id\n        slug\n        name\n    }\n}`);
    expect((data.tenant as Array<{ id: string }>).map((t) => t.id)).toEqual(expected);
  });
});

describe("flow runners (#16, #18, #19, #21, #33–#37)", () => {
  test("#16 get_flow_run_info", async () => {
    const data = await graph.data(`query {
    flow_run_by_pk(id: "${flowRun.a}") {
        id
        name
        flow_id
        parameters
        context
        version
        scheduled_start_time
        serialized_state
        task_runs(where: { map_index: { _eq: -1 } }) {
            id
            task {
                id
                slug
            }
            version
            serialized_state
        }
        flow {
            project {
                name
                id
            }
        }
    }
}`);
    const run = data.flow_run_by_pk as Record<string, unknown> & { task_runs: Array<{ id: string; task: { id: string; slug: string }; version: number }> };
    expect(run).toMatchObject({
      id: flowRun.a,
      name: "run-a",
      flow_id: flow.etl2,
      parameters: { x: 1, deep: { k: [10, 20] } },
      context: null,
      version: 3,
      scheduled_start_time: "2024-01-01T00:00:00.123456+00:00",
      serialized_state: null,
      flow: { project: { name: "proj-one", id: project.one } },
    });
    expect(run.task_runs).toHaveLength(10);
    expect(run.task_runs.find((tr) => tr.task.slug === "t1")).toEqual({ id: taskRunOf.a.t1, task: { id: task.t1, slug: "t1" }, version: 3, serialized_state: CREATED });
    expect(run.task_runs.some((tr) => mappedChildren.includes(tr.id))).toBe(false);
  });

  test("#16 for a missing run is null", async () => {
    const data = await graph.data(`query {\n    flow_run_by_pk(id: "${ids.missing}") {\n        id\n        name\n    }\n}`);
    expect(data).toEqual({ flow_run_by_pk: null });
  });

  test("#18 flow { settings } (heartbeat_enabled)", async () => {
    const data = await graph.data(`query {\n    flow_run_by_pk(id: "${flowRun.a}") {\n        flow {\n            settings\n        }\n    }\n}`);
    expect(data).toEqual({ flow_run_by_pk: { flow: { settings: { heartbeat_enabled: true } } } });
  });

  test("#19 serialized_state", async () => {
    const data = await graph.data(`query {\n    flow_run_by_pk(id: "${flowRun.b}") {\n        serialized_state\n    }\n}`);
    expect(data).toEqual({ flow_run_by_pk: { serialized_state: null } });
  });

  test.each([
    ["cache_key", `cache_key: { _eq: "k1" }`],
    ["task_id", `task_id: { _eq: "${task.t2}" }`],
  ])("#21 check_task_is_cached by %s, with a naive UTC timestamp", async (_by, key) => {
    const data = await graph.data(
      `query {\n    task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "2024-03-01T12:00:00.000001" }, ${key} }, order_by: { state_timestamp: desc }, limit: 100) {\n        serialized_state\n    }\n}`,
    );
    expect(data).toEqual({ task_run: [{ serialized_state: { type: "Cached", n: 2 } }] });
  });

  test("#21 all cached results, newest first", async () => {
    const data = await graph.data(
      `query {\n    task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "2024-02-01T00:00:00+00:00" }, cache_key: { _eq: "k1" } }, order_by: { state_timestamp: desc }, limit: 100) {\n        serialized_state\n    }\n}`,
    );
    expect(data).toEqual({ task_run: [{ serialized_state: { type: "Cached", n: 2 } }, { serialized_state: { type: "Cached", n: 1 } }] });
  });

  test("#33 prefect execute flow-run", async () => {
    const data = await graph.data(`query {\n    flow_run(where: { id: { _eq: "${flowRun.c}" } }) {\n        flow {\n            name\n            storage\n            run_config\n        }\n        version\n    }\n}`);
    expect(data).toEqual({ flow_run: [{ flow: { name: "report", storage: null, run_config: null }, version: 1 }] });
  });

  test("#34 FlowRunView", async () => {
    const data = await graph.data(`query {
    flow_run(where: { id: { _eq: "${flowRun.a}" } }) {
        id
        name
        flow_id
        serialized_state
        states {
            timestamp
            serialized_state
        }
        labels
        parameters
        context
        updated
        run_config
    }
}`);
    const [run] = data.flow_run as Array<Record<string, unknown> & { states: Array<{ timestamp: string }> }>;
    expect([...run!.states].sort((x, y) => x.timestamp.localeCompare(y.timestamp))).toEqual([
      { timestamp: "2024-01-01T00:00:00+00:00", serialized_state: { type: "Scheduled" } },
      { timestamp: "2024-01-01T00:01:00+00:00", serialized_state: { type: "Running" } },
    ]);
    expect(run).toMatchObject({
      id: flowRun.a,
      name: "run-a",
      flow_id: flow.etl2,
      serialized_state: null,
      labels: ["x"],
      parameters: { x: 1, deep: { k: [10, 20] } },
      context: null,
      run_config: null,
    });
    expect(run!.updated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$/);
  });

  test.each([
    ["with a start and an empty {}", `{ _and: [{ timestamp: { _lte: "2024-01-01T00:00:02+00:00" } }, {}] }`, ["first", "second"]],
    ["after the last seen log", `{ _and: [{ timestamp: { _lte: "2024-01-01T00:00:03+00:00" } }, { timestamp: { _gt: "2024-01-01T00:00:01+00:00" } }] }`, ["second", "third"]],
  ])("#35 FlowRunView.get_logs %s", async (_name, where, expected) => {
    const data = await graph.data(`query {
    flow_run(where: { id: { _eq: "${flowRun.a}" } }) {
        logs(order_by: { timestamp: asc }, where: ${where}) {
            timestamp
            message
            level
        }
    }
}`);
    const logs = (data.flow_run as Array<{ logs: Array<{ message: string; level: string; timestamp: string }> }>)[0]!.logs;
    expect(logs.map((l) => l.message)).toEqual(expected);
    expect(logs[0]).toEqual({ timestamp: expected[0] === "first" ? "2024-01-01T00:00:01+00:00" : "2024-01-01T00:00:02+00:00", message: expected[0], level: expected[0] === "first" ? "INFO" : "ERROR" });
  });

  const taskRunFields = `{\n        id\n        name\n        task {\n            id\n            slug\n        }\n        map_index\n        serialized_state\n        flow_run_id\n    }`;

  test("#36 TaskRunView by id", async () => {
    const data = await graph.data(`query {\n    task_run(where: { id: { _eq: "${taskRunOf.b.t1}" } }) ${taskRunFields}\n}`);
    expect(data).toEqual({
      task_run: [{ id: taskRunOf.b.t1, name: null, task: { id: task.t1, slug: "t1" }, map_index: -1, serialized_state: { type: "Cached", n: 1 }, flow_run_id: flowRun.b }],
    });
  });

  test("#36 mapped children by task slug, ordered by map_index", async () => {
    const data = await graph.data(
      `query {\n    task_run(where: { task: { slug: { _eq: "t7" } }, flow_run_id: { _eq: "${flowRun.a}" }, map_index: { _neq: -1 } }, order_by: { map_index: asc }) ${taskRunFields}\n}`,
    );
    expect((data.task_run as Array<{ id: string; map_index: number }>).map((tr) => [tr.id, tr.map_index])).toEqual([
      [mappedChildren[0], 0],
      [mappedChildren[1], 1],
    ]);
  });

  test("#36 the parent by task slug", async () => {
    const data = await graph.data(
      `query {\n    task_run(where: { task: { slug: { _eq: "t7" } }, flow_run_id: { _eq: "${flowRun.a}" }, map_index: { _eq: -1 } }) ${taskRunFields}\n}`,
    );
    expect((data.task_run as Array<{ id: string }>).map((tr) => tr.id)).toEqual([taskRunOf.a.t7]);
  });

  test("#36 get_all_task_runs: parents not yet seen (_nin), and then every other task run", async () => {
    const seen = [taskRunOf.a.t1, taskRunOf.a.t2];
    const parents = await graph.data(
      `query {\n    task_run(where: { map_index: { _eq: -1 }, flow_run_id: { _eq: "${flowRun.a}" }, id: { _nin: ${JSON.stringify(seen)} } }) ${taskRunFields}\n}`,
    );
    expect((parents.task_run as unknown[]).length).toBe(8);
    const rest = await graph.data(`query {\n    task_run(where: { flow_run_id: { _eq: "${flowRun.a}" }, id: { _nin: [] } }) ${taskRunFields}\n}`);
    expect((rest.task_run as unknown[]).length).toBe(12);
  });

  test("#37 get_task_run_ids", async () => {
    const data = await graph.data(`query {\n    task_run(where: { flow_run_id: { _eq: "${flowRun.b}" } }) {\n        id\n    }\n}`);
    expect((data.task_run as Array<{ id: string }>).map((tr) => tr.id).sort()).toEqual(Object.values(taskRunOf.b).sort());
  });
});

describe("agents (#31, #32, #41)", () => {
  test("#31 flow-run metadata: _in ids, an array-relationship filter inside _or, nested task_runs", async () => {
    const data = await graph.data(`query {
    flow_run(where: { id: { _in: ["${flowRun.a}", "${flowRun.b}", "${flowRun.c}"] }, _or: [{ state: { _eq: "Scheduled" } }, { state: { _eq: "Running" }, task_runs: { state_start_time: { _lte: "2024-01-01T00:00:25+00:00" } } }] }) {
        id
        version
        state
        serialized_state
        parameters
        scheduled_start_time
        run_config
        name
        flow {
            id
            name
            environment
            storage
            version
            core_version
        }
        task_runs(where: { state_start_time: { _lte: "2024-01-01T00:00:25+00:00" } }) {
            id
            version
            task_id
            serialized_state
        }
    }
}`);
    expect(data.flow_run).toEqual([
      {
        id: flowRun.a,
        version: 3,
        state: "Running",
        serialized_state: null,
        parameters: { x: 1, deep: { k: [10, 20] } },
        scheduled_start_time: "2024-01-01T00:00:00.123456+00:00",
        run_config: null,
        name: "run-a",
        flow: { id: flow.etl2, name: "etl", environment: null, storage: null, version: 2, core_version: null },
        task_runs: expect.arrayContaining([
          { id: taskRunOf.a.t1, version: 3, task_id: task.t1, serialized_state: CREATED },
          { id: taskRunOf.a.t3, version: 1, task_id: task.t3, serialized_state: CREATED },
        ]),
      },
      {
        id: flowRun.c,
        version: 1,
        state: "Scheduled",
        serialized_state: null,
        parameters: {},
        scheduled_start_time: "2024-01-03T12:30:00.5+00:00",
        run_config: null,
        name: null,
        flow: { id: flow.report, name: "report", environment: null, storage: null, version: 1, core_version: null },
        task_runs: [],
      },
    ]);
    expect((data.flow_run as Array<{ task_runs: unknown[] }>)[0]!.task_runs).toHaveLength(2);
  });

  test("#32 agent_config settings", async () => {
    const data = await graph.data(`query {\n    agent_config(where: { id: { _eq: "${ids.agentConfig}" } }) {\n        settings\n    }\n}`);
    expect(data).toEqual({ agent_config: [{ settings: { labels: ["x"] } }] });
  });

  test("#41 agents for the label hint", async () => {
    const data = await graph.data(`query {\n    agent {\n        last_queried\n        labels\n        name\n        id\n    }\n}`);
    expect(data).toEqual({
      agent: [
        { last_queried: "2024-01-05T10:00:00.5+00:00", labels: ["x", "y"], name: "agent-1", id: ids.agent.one },
        { last_queried: null, labels: [], name: "agent-2", id: ids.agent.two },
      ],
    });
  });
});

describe("flows and agentless runs (#38–#40)", () => {
  const flowFields = `{\n        id\n        settings\n        run_config\n        serialized_flow\n        name\n        archived\n        project {\n            name\n        }\n        core_version\n        storage\n        flow_group {\n            labels\n        }\n    }`;
  test.each([
    ["by id", `{ id: { _eq: "${flow.etl1}" } }`, [flow.etl1]],
    ["by flow group", `{ flow_group_id: { _eq: "${ids.flowGroup.etl}" } }`, [flow.etl2, flow.etl1]],
    ["by name, not archived", `{ name: { _eq: "etl" }, archived: { _eq: false } }`, [flow.betaEtl, flow.etl2]],
    ["by name and project", `{ name: { _eq: "etl" }, archived: { _eq: false }, project: { name: { _eq: "proj-one" } } }`, [flow.etl2]],
    ["by name, project name null", `{ name: { _eq: "etl" }, archived: { _eq: false }, project: { name: { _is_null: true } } }`, []],
  ])("#38 FlowView %s", async (_name, where, expected) => {
    const data = await graph.data(`query {\n    flow(where: ${where}, order_by: { created: desc }) ${flowFields}\n}`);
    expect((data.flow as Array<{ id: string }>).map((f) => f.id)).toEqual(expected);
  });

  test("#38 returns v1's shape", async () => {
    const data = await graph.data(`query {\n    flow(where: { id: { _eq: "${flow.etl2}" } }, order_by: { created: desc }) ${flowFields}\n}`);
    expect(data.flow).toEqual([
      {
        id: flow.etl2,
        settings: { heartbeat_enabled: true },
        run_config: null,
        serialized_flow: null,
        name: "etl",
        archived: false,
        project: { name: "proj-one" },
        core_version: null,
        storage: null,
        flow_group: { labels: ["a", "b"] },
      },
    ]);
  });

  test("#39 StartFlowRun: the latest unarchived version in a project", async () => {
    const data = await graph.data(
      `query {\n    flow(where: { name: { _eq: "etl" }, archived: { _eq: false }, project: { name: { _eq: "proj-three" } } }, order_by: { version: desc }, limit: 1) {\n        id\n    }\n}`,
    );
    expect(data).toEqual({ flow: [{ id: flow.betaEtl }] });
  });

  test("#40 agentless execution: started task runs of a running flow run", async () => {
    const data = await graph.data(
      `query {\n    task_run(where: { state_start_time: { _is_null: false }, flow_run_id: { _eq: "${flowRun.a}" }, flow_run: { state: { _eq: "Running" } } }) {\n        state_start_time\n    }\n}`,
    );
    expect((data.task_run as Array<{ state_start_time: string }>).map((tr) => tr.state_start_time).sort()).toEqual([
      "2024-01-01T00:00:10+00:00",
      "2024-01-01T00:00:20+00:00",
      "2024-01-01T00:00:30+00:00",
    ]);
  });

  test("#40 agentless execution: the scheduled state's start time", async () => {
    const data = await graph.data(
      `query {\n    flow_run(where: { id: { _eq: "${flowRun.c}" } }) {\n        states(where: { state: { _eq: "Scheduled" } }) {\n            start_time\n            created\n        }\n        scheduled_start_time\n    }\n}`,
    );
    expect(data).toEqual({
      flow_run: [{ states: [{ start_time: "2024-01-03T12:30:00.5+00:00", created: "2024-01-03T00:00:00+00:00" }], scheduled_start_time: "2024-01-03T12:30:00.5+00:00" }],
    });
  });
});

describe("CLI reads (#43)", () => {
  test.each([
    ["latest versions (distinct_on: name)", "distinct_on: name, ", [["etl", 2], ["report", 1]]],
    ["all versions (distinct_on: null)", "distinct_on: null, ", [["etl", 2], ["etl", 1], ["etl", 1], ["report", 1]]],
  ])("prefect get flows, %s", async (_name, distinct, expected) => {
    const data = await graph.data(`query {
    flow(where: { _and: { name: { _eq: null }, version: { _eq: null }, project: { name: { _eq: null } } } }, order_by: { name: asc, version: desc }, ${distinct}limit: 10) {
        name
        version
        project {
            name
        }
        created
        id
    }
}`);
    expect((data.flow as Array<{ name: string; version: number }>).map((f) => [f.name, f.version])).toEqual(expected);
  });

  test("prefect get projects", async () => {
    const data = await graph.data(`query {
    project(where: { _and: { name: { _eq: null } } }, order_by: { name: asc }) {
        name
        created
        description
        flows_aggregate(distinct_on: name) {
            aggregate {
                count
            }
        }
    }
}`);
    expect(data.project).toEqual([
      { name: "proj-one", created: "2024-01-01T00:00:01+00:00", description: "first", flows_aggregate: { aggregate: { count: 1 } } },
      { name: "proj-three", created: "2024-01-01T00:00:03+00:00", description: "beta's", flows_aggregate: { aggregate: { count: 1 } } },
      { name: "proj-two", created: "2024-01-01T00:00:02+00:00", description: null, flows_aggregate: { aggregate: { count: 1 } } },
    ]);
  });

  test.each([
    ["all", `{ flow: { _and: { name: { _eq: null }, project: { name: { _eq: null } } } } }`, "created", ["run-d", null, "run-b", "run-a"]],
    ["started, by flow and project", `{ flow: { _and: { name: { _eq: "etl" }, project: { name: { _eq: "proj-one" } } } }, start_time: { _is_null: false } }`, "start_time", ["run-b", "run-a"]],
  ])("prefect get flow-runs, %s", async (_name, where, orderColumn, expected) => {
    const data = await graph.data(`query {
    flow_run(where: ${where}, limit: 10, order_by: { ${orderColumn}: desc }) {
        flow {
            name
        }
        created
        state
        name
        start_time
    }
}`);
    expect((data.flow_run as Array<{ name: string | null }>).map((r) => r.name)).toEqual(expected);
  });

  test("prefect get tasks", async () => {
    const data = await graph.data(`query {
    task(where: { _and: { name: { _eq: "t7" }, flow: { name: { _eq: "etl" }, version: { _eq: null }, project: { name: { _eq: null } } } } }, limit: 10, order_by: { created: desc }) {
        name
        created
        flow {
            name
            version
        }
        mapped
        type
    }
}`);
    expect(data.task).toEqual([{ name: "t7", created: expect.stringMatching(/\+00:00$/), flow: { name: "etl", version: 2 }, mapped: true, type: null }]);
  });

  test("prefect get logs", async () => {
    const data = await graph.data(`query {
    flow_run(where: { name: { _eq: "run-a" }, id: { _eq: null } }, order_by: { start_time: desc }) {
        logs(order_by: { timestamp: asc }) {
            timestamp
            message
            level
        }
        start_time
    }
}`);
    expect(data.flow_run).toEqual([
      {
        logs: [
          { timestamp: "2024-01-01T00:00:01+00:00", message: "first", level: "INFO" },
          { timestamp: "2024-01-01T00:00:02+00:00", message: "second", level: "ERROR" },
          { timestamp: "2024-01-01T00:00:03+00:00", message: "third", level: "INFO" },
        ],
        start_time: "2024-01-01T00:01:00+00:00",
      },
    ]);
  });

  test("prefect describe flows (with tasks)", async () => {
    const data = await graph.data(`query {
    flow(where: { _and: { name: { _eq: "etl" }, version: { _eq: 2 }, project: { name: { _eq: null } } } }, order_by: { name: asc, version: desc }, distinct_on: name) {
        name
        version
        created
        description
        parameters
        archived
        storage
        environment
        tasks(order_by: { name: asc }, limit: 2) {
            name
            created
            slug
            description
            type
            max_retries
            retry_delay
            mapped
        }
    }
}`);
    expect(data.flow).toEqual([
      {
        name: "etl",
        version: 2,
        created: "2024-01-02T00:00:00+00:00",
        description: null,
        parameters: [{ name: "x", default: 1 }],
        archived: false,
        storage: null,
        environment: null,
        tasks: [
          { name: "t1", created: expect.any(String), slug: "t1", description: null, type: null, max_retries: 1, retry_delay: "00:05:00", mapped: false },
          { name: "t10", created: expect.any(String), slug: "t10", description: null, type: null, max_retries: 1, retry_delay: null, mapped: false },
        ],
      },
    ]);
  });
});
