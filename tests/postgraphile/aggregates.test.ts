// `<t>_aggregate` and `<rel>_aggregate` over the seeded database (seed.ts): count (plain, columns:, distinct:),
// max/min on every comparable type, sum/avg/stddev*/var*/variance, nodes, the empty set, at the root and nested,
// with where/order_by/limit/offset; and the output formats of every scalar.
import { describe, expect, test } from "vitest";
import { useDataGraph } from "./helpers.ts";
import { ids } from "./seed.ts";

const graph = useDataGraph();

// flow_run versions 3, 5, 1, 2 (a, b, c, d); times_resurrected 0, 2, null, 1; names run-a, run-b, null, run-d;
// agent_id set on a only; flow_id: a, b → etl2, c → report, d → betaEtl.
const MEAN = 11 / 4;
const SQUARES = [3, 5, 1, 2].reduce((sum, v) => sum + (v - MEAN) ** 2, 0);

describe("count", () => {
  test.each([
    ["count", `count`, 4],
    ["count(distinct: true) without columns", `count(distinct: true)`, 4],
    ["count(distinct: false)", `count(distinct: false)`, 4],
    ["count(columns: name) skips nulls", `count(columns: name)`, 3],
    ["count(columns: [agent_id])", `count(columns: [agent_id])`, 1],
    ["count(columns: [flow_id], distinct: true)", `count(columns: [flow_id], distinct: true)`, 3],
    ["count(columns: [flow_id], distinct: false)", `count(columns: [flow_id], distinct: false)`, 4],
    ["count(columns: [flow_id, agent_id]) counts rows with all non-null", `count(columns: [flow_id, agent_id])`, 1],
    ["count(columns: [flow_id, state], distinct: true)", `count(columns: [flow_id, state], distinct: true)`, 4],
    ["count(columns: [flow_id, tenant_id], distinct: true)", `count(columns: [flow_id, tenant_id], distinct: true)`, 3],
    ["count(columns: null)", `count(columns: null, distinct: null)`, 4],
  ])("%s", async (_name, field, expected) => {
    const data = await graph.data(`{ flow_run_aggregate { aggregate { ${field} } } }`);
    expect(data).toEqual({ flow_run_aggregate: { aggregate: { count: expected } } });
  });

  test("several counts side by side, with aliases and variables", async () => {
    const data = await graph.data(
      `query($columns: [flow_run_select_column!], $distinct: Boolean) { flow_run_aggregate(where: {tenant_id: {_eq: "${ids.tenant.alpha}"}}) { aggregate { all: count named: count(columns: name) flows: count(columns: $columns, distinct: $distinct) } } }`,
      { columns: "flow_id", distinct: true },
    );
    expect(data).toEqual({ flow_run_aggregate: { aggregate: { all: 3, named: 2, flows: 2 } } });
  });
});

describe("max and min", () => {
  test("on uuid, String, Int, timestamptz (formatted as output), with nulls skipped", async () => {
    const data = await graph.data(`{ flow_run_aggregate { aggregate {
      max { id flow_id agent_id name version times_resurrected scheduled_start_time start_time state }
      min { id flow_id agent_id name version times_resurrected scheduled_start_time start_time state }
    } } }`);
    expect(data.flow_run_aggregate).toEqual({
      aggregate: {
        max: {
          id: ids.flowRun.d,
          flow_id: ids.flow.betaEtl,
          agent_id: ids.agent.one,
          name: "run-d",
          version: 5,
          times_resurrected: 2,
          scheduled_start_time: "2024-01-04T00:00:00+00:00",
          start_time: "2024-01-02T00:01:00+00:00",
          state: "Success",
        },
        min: {
          id: ids.flowRun.a,
          flow_id: ids.flow.etl2,
          agent_id: ids.agent.one,
          name: "run-a",
          version: 1,
          times_resurrected: 0,
          scheduled_start_time: "2024-01-01T00:00:00.123456+00:00",
          start_time: "2024-01-01T00:01:00+00:00",
          state: "Failed",
        },
      },
    });
  });

  test("on interval (as a duration, formatted as Postgres text)", async () => {
    const data = await graph.data(`{ task_aggregate { aggregate { max { retry_delay max_retries } min { retry_delay max_retries } } } }`);
    expect(data.task_aggregate).toEqual({
      aggregate: { max: { retry_delay: "1 day 02:00:00", max_retries: 2 }, min: { retry_delay: "00:05:00", max_retries: 0 } },
    });
  });
});

describe("numeric aggregates", () => {
  test("sum, avg, stddev, stddev_pop, stddev_samp, var_pop, var_samp, variance", async () => {
    const functions = ["sum", "avg", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance"];
    const data = await graph.data(`{ flow_run_aggregate { aggregate { ${functions.map((fn) => `${fn} { version times_resurrected }`).join(" ")} } } }`);
    const aggregate = (data.flow_run_aggregate as { aggregate: Record<string, { version: number; times_resurrected: number }> }).aggregate;
    expect(aggregate.sum).toEqual({ version: 11, times_resurrected: 3 });
    expect(aggregate.avg).toEqual({ version: 2.75, times_resurrected: 1 });
    expect(aggregate.var_pop!.version).toBeCloseTo(SQUARES / 4, 12);
    expect(aggregate.var_samp!.version).toBeCloseTo(SQUARES / 3, 12);
    expect(aggregate.variance!.version).toBeCloseTo(SQUARES / 3, 12);
    expect(aggregate.stddev_pop!.version).toBeCloseTo(Math.sqrt(SQUARES / 4), 12);
    expect(aggregate.stddev_samp!.version).toBeCloseTo(Math.sqrt(SQUARES / 3), 12);
    expect(aggregate.stddev!.version).toBeCloseTo(Math.sqrt(SQUARES / 3), 12);
    // times_resurrected 0, 2, 1 (the null is skipped): mean 1, squares 2
    expect(aggregate.var_samp!.times_resurrected).toBeCloseTo(1, 12);
    expect(aggregate.var_pop!.times_resurrected).toBeCloseTo(2 / 3, 12);
  });

  test("sample statistics of one row are null", async () => {
    const data = await graph.data(`{ flow_run_aggregate(where: {name: {_eq: "run-a"}}) { aggregate { stddev { version } var_samp { version } var_pop { version } sum { version } } } }`);
    expect(data.flow_run_aggregate).toEqual({ aggregate: { stddev: { version: null }, var_samp: { version: null }, var_pop: { version: 0 }, sum: { version: 3 } } });
  });
});

describe("the empty set", () => {
  test("count 0, the other functions null, nodes []", async () => {
    const data = await graph.data(`{ flow_run_aggregate(where: {version: {_gt: 100}}) { aggregate { count named: count(columns: name) max { version name } min { scheduled_start_time } sum { version } avg { version } } nodes { id } } }`);
    expect(data.flow_run_aggregate).toEqual({
      aggregate: { count: 0, named: 0, max: { version: null, name: null }, min: { scheduled_start_time: null }, sum: { version: null }, avg: { version: null } },
      nodes: [],
    });
  });
});

describe("root aggregates take the list arguments", () => {
  test("where, order_by, limit and offset select the aggregated rows and the nodes", async () => {
    const data = await graph.data(`{ flow_run_aggregate(order_by: {version: asc}, limit: 2, offset: 1) { aggregate { count sum { version } max { name } } nodes { name version } } }`);
    expect(data.flow_run_aggregate).toEqual({
      aggregate: { count: 2, sum: { version: 5 }, max: { name: "run-d" } },
      nodes: [
        { name: "run-d", version: 2 },
        { name: "run-a", version: 3 },
      ],
    });
  });

  test("nodes take relationships and their own arguments", async () => {
    const data = await graph.data(`{ flow_aggregate(where: {flow_runs: {}}, order_by: {created: desc}) { nodes { name project { name } flow_runs(order_by: {version: asc}, limit: 1) { version } } } }`);
    expect(data.flow_aggregate).toEqual({
      nodes: [
        { name: "etl", project: { name: "proj-three" }, flow_runs: [{ version: 2 }] },
        { name: "report", project: { name: "proj-two" }, flow_runs: [{ version: 1 }] },
        { name: "etl", project: { name: "proj-one" }, flow_runs: [{ version: 3 }] },
      ],
    });
  });

  test("an offset alone", async () => {
    const data = await graph.data(`{ flow_run_aggregate(order_by: {version: asc}, offset: 3) { aggregate { count max { version } } } }`);
    expect(data.flow_run_aggregate).toEqual({ aggregate: { count: 1, max: { version: 5 } } });
  });
});

describe("nested aggregates (<rel>_aggregate), per parent row", () => {
  test("count, sum, max and nodes", async () => {
    const data = await graph.data(`{ flow(order_by: {created: asc}) { name version flow_runs_aggregate { aggregate { count sum { version } max { scheduled_start_time } stddev { version } } nodes { name } } } }`);
    expect(data.flow).toEqual([
      { name: "etl", version: 1, flow_runs_aggregate: { aggregate: { count: 0, sum: { version: null }, max: { scheduled_start_time: null }, stddev: { version: null } }, nodes: [] } },
      {
        name: "etl",
        version: 2,
        flow_runs_aggregate: {
          aggregate: { count: 2, sum: { version: 8 }, max: { scheduled_start_time: "2024-01-02T00:00:00+00:00" }, stddev: { version: expect.closeTo(Math.SQRT2, 12) } },
          nodes: [{ name: "run-a" }, { name: "run-b" }],
        },
      },
      { name: "report", version: 1, flow_runs_aggregate: { aggregate: { count: 1, sum: { version: 1 }, max: { scheduled_start_time: "2024-01-03T12:30:00.5+00:00" }, stddev: { version: null } }, nodes: [{ name: null }] } },
      { name: "etl", version: 1, flow_runs_aggregate: { aggregate: { count: 1, sum: { version: 2 }, max: { scheduled_start_time: "2024-01-04T00:00:00+00:00" }, stddev: { version: null } }, nodes: [{ name: "run-d" }] } },
    ]);
  });

  test("every function, nested (etl2's runs: versions 3 and 5)", async () => {
    const functions = ["max", "min", "sum", "avg", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance"];
    const data = await graph.data(`{ flow_by_pk(id: "${ids.flow.etl2}") { flow_runs_aggregate { aggregate { count ${functions.map((fn) => `${fn} { version }`).join(" ")} } } } }`);
    const close = (value: number) => ({ version: expect.closeTo(value, 12) });
    expect(data.flow_by_pk).toEqual({
      flow_runs_aggregate: {
        aggregate: {
          count: 2,
          max: { version: 5 },
          min: { version: 3 },
          sum: { version: 8 },
          avg: close(4),
          stddev: close(Math.SQRT2),
          stddev_pop: close(1),
          stddev_samp: close(Math.SQRT2),
          var_pop: close(1),
          var_samp: close(2),
          variance: close(2),
        },
      },
    });
  });

  test("with where (the server's `flow_runs_aggregate(where: {auto_scheduled: …})` and `states_aggregate(where: {state: …})`)", async () => {
    const data = await graph.data(`{ flow_by_pk(id: "${ids.flow.etl2}") {
      auto: flow_runs_aggregate(where: {auto_scheduled: {_eq: true}}) { aggregate { max { scheduled_start_time } } }
      manual: flow_runs_aggregate(where: {auto_scheduled: {_eq: false}}) { aggregate { max { scheduled_start_time } } }
      flow_runs(order_by: {version: asc}) { name running: states_aggregate(where: {state: {_eq: "Running"}}) { aggregate { count } } }
    } }`);
    expect(data.flow_by_pk).toEqual({
      auto: { aggregate: { max: { scheduled_start_time: null } } },
      manual: { aggregate: { max: { scheduled_start_time: "2024-01-02T00:00:00+00:00" } } },
      flow_runs: [
        { name: "run-a", running: { aggregate: { count: 1 } } },
        { name: "run-b", running: { aggregate: { count: 0 } } },
      ],
    });
  });

  test("count(columns:, distinct:) per parent", async () => {
    const data = await graph.data(`{ tenant(order_by: {slug: asc}) { slug flows_aggregate { aggregate { count names: count(columns: [name], distinct: true) } } } }`);
    expect(data.tenant).toEqual([
      { slug: "alpha", flows_aggregate: { aggregate: { count: 3, names: 2 } } },
      { slug: "beta", flows_aggregate: { aggregate: { count: 1, names: 1 } } },
    ]);
  });

  test("limit and offset window the aggregated rows per parent", async () => {
    const data = await graph.data(`{ flow(where: {flow_runs: {}}, order_by: {created: asc}) { a: flow_runs_aggregate(limit: 1) { aggregate { count } } b: flow_runs_aggregate(order_by: {version: desc}, offset: 1) { aggregate { count max { version } } nodes { name } } } }`);
    expect(data.flow).toEqual([
      { a: { aggregate: { count: 1 } }, b: { aggregate: { count: 1, max: { version: 3 } }, nodes: [{ name: "run-a" }] } },
      { a: { aggregate: { count: 1 } }, b: { aggregate: { count: 0, max: { version: null } }, nodes: [] } },
      { a: { aggregate: { count: 1 } }, b: { aggregate: { count: 0, max: { version: null } }, nodes: [] } },
    ]);
  });

  test("two levels deep", async () => {
    const data = await graph.data(`{ tenant(order_by: {slug: asc}) { projects_aggregate { aggregate { count } nodes { name flows_aggregate { aggregate { max { version } } } } } } }`);
    expect(data.tenant).toEqual([
      {
        projects_aggregate: {
          aggregate: { count: 2 },
          nodes: [
            { name: "proj-one", flows_aggregate: { aggregate: { max: { version: 2 } } } },
            { name: "proj-two", flows_aggregate: { aggregate: { max: { version: 1 } } } },
          ],
        },
      },
      { projects_aggregate: { aggregate: { count: 1 }, nodes: [{ name: "proj-three", flows_aggregate: { aggregate: { max: { version: 1 } } } }] } },
    ]);
  });
});

describe("output formats", () => {
  test("every scalar of one row", async () => {
    const data = await graph.data(`{ agent_by_pk(id: "${ids.agent.one.toUpperCase()}") { id tenant_id name labels last_queried agent_config { settings } } task_by_pk(id: "${ids.task.t2}") { retry_delay max_retries mapped tags } }`);
    expect(data).toEqual({
      agent_by_pk: { id: ids.agent.one, tenant_id: ids.tenant.alpha, name: "agent-1", labels: ["x", "y"], last_queried: "2024-01-05T10:00:00.5+00:00", agent_config: { settings: { labels: ["x"] } } },
      task_by_pk: { retry_delay: "1 day 02:00:00", max_retries: 2, mapped: false, tags: ["even"] },
    });
  });

  test("jsonb null and JSON values of every kind", async () => {
    const data = await graph.data(`{ tenant(order_by: {slug: asc}) { info tier: info(path: "tier") list: info(path: "nested.list") second: info(path: "$.nested.list[1]") } }`);
    expect(data.tenant).toEqual([
      { info: null, tier: null, list: null, second: null },
      { info: { tier: "gold", nested: { list: [1, 2, 3] } }, tier: "gold", list: [1, 2, 3], second: 2 },
    ]);
  });

  test("__typename on rows, aggregates and aggregate fields", async () => {
    const data = await graph.data(`{ flow_run_aggregate(limit: 1) { __typename aggregate { __typename max { __typename } } nodes { __typename flow { __typename } } } }`);
    expect(data.flow_run_aggregate).toEqual({
      __typename: "flow_run_aggregate",
      aggregate: { __typename: "flow_run_aggregate_fields", max: { __typename: "flow_run_max_fields" } },
      nodes: [{ __typename: "flow_run", flow: { __typename: "flow" } }],
    });
  });

  test("a timestamp keeps its instant whatever the offset it was written with", async () => {
    await graph.db.pool.query(`update agent set last_queried = '2024-06-01T12:00:00.000001+05:30' where id = $1`, [ids.agent.two]);
    const data = await graph.data(`{ agent_by_pk(id: "${ids.agent.two}") { last_queried } }`);
    expect(data.agent_by_pk).toEqual({ last_queried: "2024-06-01T06:30:00.000001+00:00" });
  });
});
