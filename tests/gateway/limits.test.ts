/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// The document limits (services/gateway/src/limits.ts): every document Prefect Core and the Prefect UI v1 send fits
// the defaults with a wide margin, and each document they never send is refused with HTTP 400 and a message naming
// the limit and its setting, after which the gateway serves as before.
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../services/shared/src/config.ts";
import { documentLimits } from "../../services/gateway/src/limits.ts";
import * as ui from "../ui/documents.ts";
import { ids } from "../postgraphile/seed.ts";
import { post, useStacks } from "./helpers.ts";

const stacks = useStacks();
const url = () => `${stacks.in_process.url}/graphql`;
const DEFAULTS = documentLimits(loadConfig({ env: {}, ignoreUserFile: true }));

/** The UI's dashboard at its widest: 17 aliased counts in one operation (clients.md §2.2). */
const dashboard17 = `query Dashboard($projectId: uuid, $heartbeat: timestamptz) {\n${Array.from(
  { length: 17 },
  (_, i) => `  c${i}: flow_run_aggregate(where: {flow: {project_id: {_eq: $projectId}}, state: {_eq: "S${i}"}, scheduled_start_time: {_gte: $heartbeat}}) { aggregate { count } }`,
).join("\n")}\n}`;

/** The flow-run page with an inline mapped_children per mapped task run, for 100 of them. */
const mappedRuns100 = `query FlowRunTaskRuns($flowRunId: uuid!) {
  task_run(where: {flow_run_id: {_eq: $flowRunId}, map_index: {_eq: -1}}) { id name state task { id name } }
${Array.from({ length: 99 }, (_, i) => `  mapped_run_${i}: mapped_children(task_run_id: "${ids.missing}") { min_start_time max_end_time state_counts }`).join("\n")}
}`;

/** A query six levels deep (the UI's deepest, clients.md §2.3). */
const sixDeep = `query Deep($id: uuid!) { flow_run_by_pk(id: $id) { flow { flow_group { flows(limit: 10) { tasks(limit: 10) { task_runs(limit: 10) { id } } } } } } }`;

/** Core's heaviest reads (clients.md §1.3), as Core renders them: every value inline. */
const core = {
  flowRunInfo: `query {\n    flow_run_by_pk(id: "${ids.flowRun.a}") {\n        id\n        name\n        flow_id\n        parameters\n        context\n        version\n        scheduled_start_time\n        serialized_state\n        task_runs(where: { map_index: { _eq: -1 } }) {\n            id\n            task {\n                id\n                slug\n            }\n            version\n            serialized_state\n        }\n        flow {\n            project {\n                name\n                id\n            }\n        }\n    }\n}`,
  agentRuns: `query {\n    flow_run(where: { id: { _in: ["${ids.flowRun.a}", "${ids.flowRun.b}"] }, _or: [{ state: { _eq: "Scheduled" } }, { state: { _eq: "Running" }, task_runs: { state_start_time: { _lte: "2024-01-01T00:00:25+00:00" } } }] }) {\n        id\n        version\n        state\n        serialized_state\n        parameters\n        scheduled_start_time\n        run_config\n        name\n        flow {\n            id\n            name\n            environment\n            storage\n            version\n            core_version\n        }\n        task_runs(where: { state_start_time: { _lte: "2024-01-01T00:00:25+00:00" } }) {\n            id\n            version\n            task_id\n            serialized_state\n        }\n    }\n}`,
  runView: `query {\n    flow_run(where: { id: { _eq: "${ids.flowRun.a}" } }) {\n        id\n        name\n        flow_id\n        serialized_state\n        states {\n            timestamp\n            serialized_state\n        }\n        labels\n        parameters\n        context\n        updated\n        run_config\n    }\n}`,
  cached: `query {\n    task_run(where: { state: { _eq: "Cached" }, state_timestamp: { _gte: "2024-03-01T12:00:00.000001" }, cache_key: { _eq: "k1" } }, order_by: { state_timestamp: desc }, limit: 100) {\n        serialized_state\n    }\n}`,
};

const UI_DOCUMENTS: [string, string, Record<string, unknown>?][] = [
  ...Object.entries(ui).flatMap(([name, value]): [string, string][] => (typeof value === "string" ? [[`ui ${name}`, value]] : [])),
  ["ui flowRunTaskRuns", ui.flowRunTaskRuns(ids.missing)],
  ["ui cancelLateRun", ui.cancelLateRun(ids.flowRun.a, 3)],
  ["ui dashboard, 17 counts", dashboard17],
  ["ui flow-run page, 100 mapped task runs", mappedRuns100],
  ["ui six levels deep", sixDeep],
  ["ui notifications, limit 1000", ui.NOTIFICATIONS, { limit: 1000 }],
  ...Object.entries(core).map(([name, query]): [string, string] => [`core ${name}`, query]),
];

describe("the documents the clients send", () => {
  test.each(UI_DOCUMENTS)("%s: valid, and a tenth of max_cost at most", (_name, query, variables) => {
    const router = stacks.in_process.gateway.gateway.router!;
    const verdict = router.route(query, null);
    expect(verdict.refused).toBeUndefined();
    expect(verdict.cost, "the document validates with the limits' rules").toBeDefined();
    expect(verdict.cost!(variables ?? {})).toBeLessThanOrEqual(DEFAULTS.cost / 10);
  });

  test("a batch of 25 operations, the UI's most, is answered", async () => {
    const batch = Array.from({ length: 25 }, () => ({ query: ui.AGENTS, operationName: "Agents", variables: {} }));
    const response = await post(url(), batch);
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(25);
  });
});

const still = async () => expect((await post(url(), { query: "{ hello }" })).body).toEqual({ data: { hello: "👋" } });

describe("documents no client sends are refused: HTTP 400, the limit and its setting named", () => {
  /** A selection `levels` deep: flow runs and their flows, alternately (one row each). */
  const nest = (levels: number) =>
    `{ ${Array.from({ length: levels }, (_, i) => (i === 0 ? "flow_run(limit: 1) { " : i % 2 === 1 ? "flow { " : "flow_runs(limit: 1) { ")).join("")}id${" }".repeat(levels)} }`;
  test.each([
    ["101 aliases", `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: hello`).join(" ")} }`, /^The operation has more than 100 aliases \(services\.gateway\.max_aliases\)\.$/],
    ["1,000 aliases of flow_run_aggregate", `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: flow_run_aggregate { aggregate { count } }`).join(" ")} }`, /more than 100 aliases \(services\.gateway\.max_aliases\)/],
    ["101 root fields", `query Many { ${"hello ".repeat(101)}}`, /^'Many' selects more than 100 root fields \(services\.gateway\.max_root_fields\)\.$/],
    ["eight levels", nest(8), /^The operation is nested deeper than the limit of 7 levels \(services\.gateway\.depth_limit\)\.$/],
    ["2,000 levels", nest(2000), /^The document nests brackets deeper than 100 levels \(services\.gateway\.max_nesting\)\.$/],
    ["a filter nested 2,000 levels", `{ flow(where: ${"{_and: [".repeat(1000)}{}${"]}".repeat(1000)}) { id } }`, /deeper than 100 levels \(services\.gateway\.max_nesting\)/],
    ["20,001 tokens", `{ flow(limit: 1) { ${"id ".repeat(19_996)}} }`, /^The document has more than 20000 tokens \(services\.gateway\.max_tokens\)\.$/],
    [
      "a list of the row cap inside a list of the row cap",
      `{ task_run_state(limit: 2147483647) { task_run { flow_run { tenant { id } } states(limit: 10000) { id } } } }`,
      /^The operation could return about [\d,]{11} rows, more than the limit of 1,000,000 \(services\.gateway\.max_cost\)\. Ask for fewer rows/,
    ],
  ])("%s", async (_name, query, message) => {
    const response = await post(url(), { query });
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(1);
    expect(response.body.errors[0].message).toMatch(message);
    await still();
  });

  test("the cost counts a limit sent in a variable", async () => {
    const query = `query($n: Int) { flow(limit: $n) { flow_runs(limit: $n) { id } } }`;
    expect((await post(url(), { query, variables: { n: 100 } })).status).toBe(200);
    const refused = await post(url(), { query, variables: { n: 5000 } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].message).toMatch(/could return about 25,005,000 rows.*services\.gateway\.max_cost/);
  });

  test("the estimates docs/security.md works through", async () => {
    expect((await post(url(), { query: "{ flow_run(limit: 50) { task_runs { states { id } } } }" })).status).toBe(200);
    const refused = await post(url(), { query: "{ task_run_state(limit: 2147483647) { task_run { states { id } } } }" });
    expect(refused.status).toBe(400);
    expect(refused.body.errors[0].message).toMatch(/could return about 1,020,000 rows/);
    // 50 × (1 + 100 × (1 + 100)) = 505,050 each, twice: over the limit
    const twice = await post(url(), { query: "{ a: flow_run(limit: 50) { task_runs { states { id } } } b: flow_run(limit: 50) { task_runs { states { id } } } }" });
    expect(twice.body.errors[0].message).toMatch(/could return about 1,010,100 rows/);
  });

  test("a batch of 51 operations", async () => {
    const response = await post(url(), Array.from({ length: 51 }, () => ({ query: "{ hello }" })));
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toBe("The batch holds 51 operations, more than the limit of 50 (services.gateway.max_batch_size).");
    await still();
  });

  test.each([
    ["variables", `{"query": "query($j: JSON) { hello }", "variables": {"j": ${"[".repeat(5000)}${"]".repeat(5000)}}}`],
    ["a batch", `[${"[".repeat(5000)}${"]".repeat(5000)}]`],
  ])("JSON nested 5,000 levels in %s", async (_name, body) => {
    const response = await post(url(), body);
    expect(response.status).toBe(400);
    expect(response.body.errors[0].message).toBe("The request body nests JSON objects and arrays deeper than 100 levels (services.gateway.max_nesting).");
    await still();
  });

  test("GET requests are held to the same limits", async () => {
    const response = await fetch(`${url()}?query=${encodeURIComponent(`{ ${Array.from({ length: 101 }, (_, i) => `a${i}: hello`).join(" ")} }`)}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as any).errors[0].message).toMatch(/max_aliases/);
    const nested = await fetch(`${url()}?query=${encodeURIComponent(nest(500))}`);
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as any).errors[0].message).toMatch(/max_nesting/);
  });
});
