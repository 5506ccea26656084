/* eslint-disable @typescript-eslint/no-explicit-any -- answers are read field by field */
// The fuzz suite: what a careless or hostile client sends, through the gateway, asserting what a user relies on.
//   catalogue   the bad inputs of issue 18 and their kin, in both modes, each with the answer it must get
//   generated   FUZZ_DOCUMENTS (default 300) operations generated from the composed schema with a fixed seed
//               (FUZZ_SEED, default 18; generate.ts), against the distributed stack (fast path and planner)
// For every answer: HTTP 200 or 400 (never a 5xx), no internal error, no Postgres text in any message, answered
// within the statement timeout's reach; and the gateway serves on afterwards.
import { describe, expect, test } from "vitest";
import { ids } from "../postgraphile/seed.ts";
import { MODES, useStacks, type Mode } from "../gateway/helpers.ts";
import { OperationGenerator } from "./generate.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 18);
const DOCUMENTS = Number(process.env.FUZZ_DOCUMENTS ?? 300);
/** Longest any answer may take: the data graph's statement timeout (5 s) and then some. */
const ANSWER_BOUND_MS = 20_000;

const stacks = useStacks();

/** Texts of Postgres's own messages (they quote values back and name internals). */
const POSTGRES_TEXT =
  /invalid input syntax|malformed array literal|violates (unique|foreign key|not-null|check) constraint|duplicate key value|relation "|syntax error at or near|unsupported Unicode escape|value too long for type|out of range for type|invalid byte sequence|null value in column|date\/time field value|SQLSTATE|canceling statement/i;
/** Our texts for an error nobody foresaw. */
const INTERNAL_ERROR = /An internal API error occurred|Unexpected error \(reference|failed to handle the request/;

interface Answer {
  status: number;
  body: any;
  text: string;
}

async function send(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(ANSWER_BOUND_MS),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, body: parsed, text };
}

/** The properties every answer has, whatever was sent; `what` names the request in failure messages. */
function expectSound(answer: Answer, what: string): void {
  expect([200, 400], `${what}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`).toContain(answer.status);
  expect(answer.body, `${what}: not JSON: ${answer.text.slice(0, 300)}`).toBeDefined();
  const errors: any[] = (Array.isArray(answer.body) ? answer.body : [answer.body]).flatMap((item: any) => item?.errors ?? []);
  for (const error of errors) {
    expect(error.message, `${what}: Postgres text`).not.toMatch(POSTGRES_TEXT);
    expect(error.message, `${what}: internal error`).not.toMatch(INTERNAL_ERROR);
    expect(error.extensions?.code, `${what}: ${error.message}`).not.toBe("INTERNAL_SERVER_ERROR");
  }
}

const still = async (url: string) => expect((await send(url, JSON.stringify({ query: "{ hello }" }))).body).toEqual({ data: { hello: "👋" } });

const NUL = "\u0000";
const mutation = (field: string, selection = "success") => `mutation($input: ${field}_input!) { ${field}(input: $input) { ${selection} } }`;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const NUL_REFUSED = (field: string) => new RegExp(`^${escaped(`${field} contains a NUL character (\\u0000), which cannot be stored: remove it.`)}$`);

/** [what, body, status, message of the first error (undefined: no error), data (when checked)] */
type Case = [string, unknown, number, RegExp | undefined, unknown?];
const CATALOGUE: Case[] = [
  // NUL characters: stripped from what running flows write, refused (naming the field) anywhere else
  ["NUL in a log message", { query: mutation("write_run_logs"), variables: { input: { logs: [{ flow_run_id: ids.flowRun.a, message: `a${NUL}b` }] } } }, 200, undefined, { write_run_logs: { success: true } }],
  ["NUL in a log name and info", { query: mutation("write_run_logs"), variables: { input: { logs: [{ flow_run_id: ids.flowRun.a, name: `n${NUL}`, message: "m", info: { [`k${NUL}`]: NUL } }] } } }, 200, undefined, { write_run_logs: { success: true } }],
  [
    "NUL in a state message",
    { query: mutation("set_flow_run_states", "states { status }"), variables: { input: { states: [{ flow_run_id: ids.flowRun.c, state: { type: "Scheduled", message: `late${NUL}` } }] } } },
    200,
    undefined,
    { set_flow_run_states: { states: [{ status: "SUCCESS" }] } },
  ],
  ["NUL in a flow run name", { query: mutation("set_flow_run_name"), variables: { input: { flow_run_id: ids.flowRun.a, name: `run${NUL}` } } }, 200, NUL_REFUSED("input.name"), { set_flow_run_name: null }],
  ["NUL in a project name", { query: mutation("create_project", "id"), variables: { input: { tenant_id: ids.tenant.alpha, name: `p${NUL}` } } }, 200, NUL_REFUSED("input.name")],
  ["NUL in a tenant name", { query: mutation("create_tenant", "id"), variables: { input: { name: NUL, slug: "nul-tenant" } } }, 200, NUL_REFUSED("input.name")],
  ["NUL in a flow name", { query: mutation("create_flow", "id"), variables: { input: { project_id: ids.project.one, serialized_flow: { name: `f${NUL}`, tasks: [] } } } }, 200, NUL_REFUSED("input.serialized_flow.name")],
  ["NUL in a run's parameter key", { query: mutation("create_flow_run", "id"), variables: { input: { flow_id: ids.flow.etl2, parameters: { [`x${NUL}`]: 1 } } } }, 200, NUL_REFUSED("input.parameters.x\\u0000")],
  ["NUL in a data-graph filter", { query: `{ flow(where: {name: {_eq: "a${"\\u0000"}"}}) { id } }` }, 200, /^The value for flow\.name \(_eq\) contains a NUL character \(\\u0000\), which the database can neither store nor compare: remove it\.$/],
  // lengths over the column's
  ["a tenant name of 300 characters", { query: mutation("create_tenant", "id"), variables: { input: { name: "n".repeat(300), slug: "long-name" } } }, 200, /^The tenant name is longer than 255 characters\.$/],
  ["a tenant slug of 300 characters", { query: mutation("create_tenant", "id"), variables: { input: { name: "n", slug: "s".repeat(300) } } }, 200, /^The tenant slug is longer than 255 characters\.$/],
  // malformed scalars: refused before any subgraph, 400, whichever path
  ["a malformed uuid variable (data graph)", { query: "query($id: uuid!) { flow_by_pk(id: $id) { id } }", variables: { id: "not-a-uuid" } }, 400, /Could not parse uuid: "not-a-uuid"/],
  ["a malformed uuid variable beside the other subgraph", { query: "query($id: uuid!) { hello flow_by_pk(id: $id) { id } }", variables: { id: "not-a-uuid" } }, 400, /Could not parse uuid: "not-a-uuid"/],
  ["a malformed uuid literal", { query: '{ flow_by_pk(id: "1234") { id } }' }, 400, /Could not parse uuid: "1234"/],
  ["a malformed UUID variable (mutations)", { query: mutation("set_flow_run_name"), variables: { input: { flow_run_id: "nope", name: "x" } } }, 400, /Could not parse UUID: nope/],
  ["a malformed _uuid", { query: "query($t: _uuid) { utility_downstream_tasks(args: {start_task_ids: $t}) { depth } }", variables: { t: "{1,2" } }, 400, /Could not parse _uuid/],
  ["a malformed timestamptz", { query: "query($t: timestamptz) { flow_run(where: {scheduled_start_time: {_gt: $t}}) { id } }", variables: { t: "2024-02-30" } }, 400, /Could not parse timestamptz: "2024-02-30"/],
  ["a malformed DateTime", { query: mutation("create_flow_run", "id"), variables: { input: { flow_id: ids.flow.etl2, scheduled_start_time: "tomorrow-ish" } } }, 400, /Could not parse DateTime: tomorrow-ish/],
  ["a malformed interval", { query: '{ task(where: {retry_delay: {_gt: "5 minutes; drop"}}) { id } }' }, 400, /Could not parse interval/],
  ["an Int out of range", { query: "{ flow(limit: 2147483648) { id } }" }, 400, /Int cannot represent non 32-bit signed integer value/],
  ["a negative limit", { query: "{ flow(limit: -1) { id } }" }, 200, /^expected a non-negative integer for "limit", got -1$/],
  ["a negative offset", { query: "query($o: Int) { flow(offset: $o) { id } }", variables: { o: -5 } }, 200, /^expected a non-negative integer for "offset", got -5$/],
  ["an unknown enum value", { query: mutation("write_run_logs"), variables: { input: { logs: [{ flow_run_id: ids.flowRun.a, level: "LOUD" }] } } }, 400, /Value "LOUD" does not exist in "log_level" enum/],
  // bodies that are no GraphQL request
  ["a body that is not JSON", "{ query: hello", 400, /^The POST body is not valid JSON\.$/],
  ["variables that are a string of broken JSON", { query: "{ hello }", variables: "{nope" }, 400, /^`variables` is a string that is not valid JSON\.$/],
  ["an empty batch", [], 400, /^The batch is empty/],
  ["a request without a query", { variables: {} }, 400, /GraphQL operations must contain a non-empty `query`|must contain a non-empty `query`/],
];

describe.each(MODES)("%s: the bad-input catalogue", (mode: Mode) => {
  test.each(CATALOGUE)("%s", async (_what, body, status, message, data) => {
    const url = `${stacks[mode].url}/graphql`;
    const answer = await send(url, typeof body === "string" ? body : JSON.stringify(body));
    expectSound(answer, _what);
    expect(answer.status, answer.text).toBe(status);
    const errors = answer.body.errors ?? [];
    if (message) expect(errors[0]?.message, answer.text).toMatch(message);
    else expect(errors, answer.text).toEqual([]);
    if (data !== undefined) expect(answer.body.data).toEqual(data);
    await still(url);
  });

  test("what was stripped is stored without its NUL characters", async () => {
    const rows = await stacks.db.pool.query("select message, name, info::text from log where flow_run_id = $1 and (message like 'a%b' or name like 'n%')", [ids.flowRun.a]);
    expect(rows.rows.length).toBeGreaterThan(0);
    for (const row of rows.rows) expect(JSON.stringify(row)).not.toContain("\\u0000");
  });

  test("a wrong content type is a 415, an oversized body a 413 the client receives", async () => {
    const url = `${stacks[mode].url}/graphql`;
    const form = await send(url, "query={ hello }", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.status).toBe(415);
    const big = await send(url, JSON.stringify({ query: "{ hello }", variables: { pad: "x".repeat(6 * 1024 * 1024) } }));
    expect(big.status).toBe(413);
    expect(big.body.errors[0].message).toMatch(/larger than the gateway accepts \(5242880 bytes; services\.gateway\.body_limit\)/);
    await still(url);
  });
});

// Last: the generated documents change and delete the seeded rows the catalogue above relies on.
test(`${DOCUMENTS} generated operations (seed ${SEED}): sound answers, and the gateway serves on`, { timeout: 600_000 }, async () => {
  const url = `${stacks.distributed.url}/graphql`;
  const generator = new OperationGenerator(stacks.distributed.gateway.gateway.apiSchema!, SEED);
  const statuses: Record<number, number> = {};
  for (let i = 0; i < DOCUMENTS; i++) {
    const operation = generator.operation();
    const answer = await send(url, JSON.stringify(operation));
    statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    expectSound(answer, `document ${i} (FUZZ_SEED=${SEED}) ${JSON.stringify(operation).slice(0, 2000)}`);
  }
  // the generator reaches both kinds of answer: executed (200) and refused (400)
  expect(statuses[200]).toBeGreaterThan(0);
  expect(statuses[400]).toBeGreaterThan(0);
  await still(url);
});
