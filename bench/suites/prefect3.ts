// Side by side with the Prefect 3 server (issue 21): the same machine, the same Postgres, the same load generator and
// client counts, interleaved rounds (ours, Prefect 3, ours, …; the median of each), for the API work the two have in
// common, each as its own clients send it:
//   one task-run state write   ours: set_task_run_states with 1 Running state (Core's body) on the state-write
//                              targets; Prefect 3: POST /task_runs/{id}/set_state, Running, through its orchestration
//                              rules (not forced: a Running → Running transition is accepted, and every answer is
//                              checked for ACCEPT), on as many Running task runs of as many Running flow runs
//   flow-run creation          ours: create_flow_run for a flow of one task (v1 creates its task run with it), without
//                              an idempotency key (the request pool repeats bodies; a key would turn repeats into
//                              look-ups); Prefect 3: POST /deployments/{id}/create_flow_run as its client sends it
//                              (`run_deployment`): a Scheduled run in the deployment's work pool
//   read by id                 ours: flow_run_by_pk with its task runs, the id inline, as Core reads a run it is
//                              about to run; Prefect 3: GET /flow_runs/{id}; 2,000 runs of the polled queue each
//   agent poll                 ours: get_runs_in_queue as a LocalAgent sends it; Prefect 3: a worker's poll, POST
//                              /work_pools/{name}/get_scheduled_flow_runs, `scheduled_before` now + 10 s (both
//                              clients' default look-ahead) and a limit of 25, the size of our answer
// Both sides go through their one public endpoint: our gateway, Prefect's server. The RSS of each (ours: the API's
// three services with the data graph's workers; Prefect 3: its one process) is read idle after start-up and at its
// peak during the comparison.
//
// Prefect 3 runs from a virtualenv of its own (bench/.venv, built once from bench/prefect3-requirements.txt), as
// `prefect server start` against a database of its own on the bench's Postgres, created empty for the run (its
// migrations run at start-up) and dropped after it, also on failure and Ctrl-C. Its UI, analytics and access log are
// off, and so are the background loops that act on the clock rather than on requests (scheduler, late runs, foreman,
// cancellation cleanup, pause expirations, repossessor, cleanup reconciler): our towel, which does that work for us,
// does not run here either. The event pipeline that every state change and run creation feeds (event persister,
// task-run recorder, triggers) runs, as it does for its users.
//
// Its data mirrors ours: the runs of our agent-queue data set (per tenant: due, Scheduled ahead, Running, finished)
// as the runs of one work pool per tenant, and our state-write targets. One run of each kind is created through its
// REST API and copied in SQL to the counts of ours: Prefect 3 creates runs one request at a time, far too slowly to
// seed this much on every run.
import { appendFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { freePort } from "../../services/shared/src/ports.ts";
import { ensureDatabase, withClient } from "../../services/shared/src/database/migrations.ts";
import { ManagedProcess } from "../../tests/e2e/helpers/processes.ts";
import { ensureVirtualenv, type Venv, type VenvSpec } from "../../tests/helpers/venv.ts";
import { dropDatabase, seedFlow, seedOnce } from "../lib/database.ts";
import type { LoadPlan } from "../lib/measure.ts";
import { coreBody, CREATE_FLOW_RUN, GET_RUNS_IN_QUEUE, setTaskRunStatesBody } from "../lib/requests.ts";
import { RssSampler } from "../lib/rss.ts";
import { graphql, startApi, stopServices, type ServiceOptions } from "../lib/services.ts";
import { median, type Measurement } from "../lib/stats.ts";
import { runWrk, type WrkExpectation, type WrkRequest } from "../lib/wrk.ts";
import { prepareStateTargets } from "./ceiling.ts";
import { prepareQueue, QUEUE_SCALES } from "./queue.ts";
import { byPkInline } from "./reads.ts";

const VERSION = "3.9.1";
const PREFECT = `Prefect ${VERSION}`;
const PREFECT3: VenvSpec = {
  purpose: PREFECT,
  requirements: fileURLToPath(new URL("../prefect3-requirements.txt", import.meta.url)),
  root: fileURLToPath(new URL("../.venv/", import.meta.url)),
  pythons: ["python3.11", "python3.12", "python3.13", "python3"],
  pythonVariable: "PREFECT_SERVER_BENCH_PYTHON",
  minors: [11, 13],
  prefectVersion: VERSION,
};
/** Interleaved rounds per point: throughput drifts during a run, and the median of interleaved rounds compares both
 * servers on equal terms. */
const ROUNDS = 3;
const START_TIMEOUT_MS = 180_000;
const WRITE_BODIES = 2_000;
const READ_IDS = 2_000;
const POLL_LIMIT = 25;
const CORE_HEADERS = { "X-PREFECT-CORE-VERSION": "1.4.1" };
/** The API version Prefect 3's client announces. */
const PREFECT_HEADERS = { "X-PREFECT-API-VERSION": "0.8.4" };
const POLLED_POOL = "bench-poll-0";
const CREATE_POOL = "bench-create";
/** Our flow for the creations (and its tenant). */
const CREATE_FLOW = "bench-prefect3";

/** Prefect 3's settings: the server, its database, and what runs in it (see the header). */
function prefectEnv(databaseUrl: string, home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^PREFECT/i.test(key)) env[key] = value;
  const asyncpg = new URL(databaseUrl);
  asyncpg.protocol = "postgresql+asyncpg:";
  const off = ["SCHEDULER", "LATE_RUNS", "FOREMAN", "CANCELLATION_CLEANUP", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "CLEANUP_RECONCILER"];
  return {
    ...env,
    PREFECT_HOME: home,
    PREFECT_API_DATABASE_CONNECTION_URL: asyncpg.toString(),
    PREFECT_SERVER_ANALYTICS_ENABLED: "false",
    PREFECT_SERVER_UI_ENABLED: "false",
    PREFECT_SERVER_LOGGING_LEVEL: "WARNING",
    ...Object.fromEntries(off.map((service) => [`PREFECT_SERVER_SERVICES_${service}_ENABLED`, "false"])),
  };
}

/** Drops the database on Ctrl-C (SIGINT, SIGTERM, SIGHUP) until the returned function is called. */
function dropOnInterrupt(databaseUrl: string): () => void {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  let dropping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (dropping) return;
    dropping = true;
    // ManagedProcess's own handler kills the server; it re-raises the signal only when no other handler is left,
    // so this one re-raises it once the database is gone
    void Promise.race([dropDatabase(databaseUrl), new Promise((done) => setTimeout(done, 10_000))])
      .catch(() => {})
      .finally(() => {
        release();
        process.kill(process.pid, signal);
      });
  };
  const release = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return release;
}

/** One JSON request to Prefect 3's API; throws unless it answers with one of `statuses`. */
async function prefectCall<T>(api: string, method: "GET" | "POST", path: string, body?: unknown, statuses = [200, 201]): Promise<T> {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { "content-type": "application/json", ...PREFECT_HEADERS },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  if (!statuses.includes(response.status)) throw new Error(`${PREFECT}: ${method} ${path} answered ${response.status}: ${text.slice(0, 1000)}`);
  return JSON.parse(text) as T;
}

/** Starts `prefect server start` on a free loopback port; resolves once /api/health answers. */
async function startPrefect(venv: Venv, databaseUrl: string, logDir: string): Promise<{ process: ManagedProcess; api: string }> {
  const port = await freePort();
  const server = new ManagedProcess({
    command: venv.prefect,
    args: ["server", "start", "--host", "127.0.0.1", "--port", String(port)],
    env: prefectEnv(databaseUrl, join(logDir, "prefect3-home")),
    logFile: join(logDir, "prefect3.log"),
    label: `the ${PREFECT} server`,
  });
  const api = `http://127.0.0.1:${port}/api`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!server.running) throw new Error(`${PREFECT} exited before it was ready:\n${server.tail()}`);
    try {
      const response = await fetch(`${api}/health`, { signal: AbortSignal.timeout(5_000) });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return { process: server, api };
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  await server.stop("SIGKILL", 1_000);
  throw new Error(`${PREFECT} was not ready within ${START_TIMEOUT_MS / 1000} s (last: ${last}):\n${server.tail()}`);
}

/** The runs of our agent-queue data set per tenant, the polled one first. */
interface TenantRuns {
  due: number;
  ahead: number;
  running: number;
  finished: number;
}

async function queueRuns(pool: pg.Pool, polledTenantId: string): Promise<TenantRuns[]> {
  const { rows } = await pool.query<TenantRuns & { tenant_id: string }>(
    `select fr.tenant_id::text,
            count(*) filter (where fr.state = 'Scheduled' and fr.state_start_time <= now())::int as due,
            count(*) filter (where fr.state = 'Scheduled' and fr.state_start_time > now())::int as ahead,
            count(*) filter (where fr.state = 'Running')::int as running,
            count(*) filter (where fr.state not in ('Scheduled', 'Running'))::int as finished
     from flow_run fr join tenant t on t.id = fr.tenant_id
     where t.id = $1 or t.slug like 'bench-poll-%'
     group by fr.tenant_id order by fr.tenant_id = $1 desc, fr.tenant_id`,
    [polledTenantId],
  );
  if (rows[0]?.tenant_id !== polledTenantId) throw new Error("the agent-queue data set has no runs in the polled tenant");
  return rows;
}

/** Our flow for the creations: one task, in a tenant of its own (seeded once); its earlier runs are deleted. */
async function prepareCreateFlow(pool: pg.Pool): Promise<string> {
  await seedOnce(pool, "prefect3-create-flow", (client) => seedFlow(client, CREATE_FLOW, 1));
  const { rows } = await pool.query<{ id: string }>("select id::text from flow where name = $1", [CREATE_FLOW]);
  await deleteCreatedRuns(pool, rows[0]!.id);
  return rows[0]!.id;
}

const deleteCreatedRuns = (pool: pg.Pool, flowId: string) => pool.query("delete from flow_run where flow_id = $1", [flowId]);

/** Copies of the row `templateId` of `table`, one for each n in from..to, with `overrides` (a jsonb expression of n
 * and the template row t) applied. (The record is built in a lateral join: `(f(…)).*` would call f once per column.) */
const copiesSql = (table: string, templateId: string, from: number, to: number, overrides: string) => `
  insert into ${table}
  select copy.* from ${table} t cross join generate_series(${from}, ${to}) n
  cross join lateral jsonb_populate_record(null::${table}, to_jsonb(t) || ${overrides}) copy
  where t.id = '${templateId}'`;

const uuidOf = (kind: string, n = "n") => `md5('${kind}-' || ${n})::uuid`;

interface PrefectData {
  deploymentId: string;
  taskRunIds: string[];
  readIds: string[];
  description: string;
  seconds: number;
}

/**
 * Prefect 3's data: a flow; one work pool per tenant of our queue data set with as many due, Scheduled-ahead,
 * Running and Completed runs; as many Running task runs in as many Running flow runs as our state-write targets;
 * a work pool and a deployment for the creations.
 */
async function seedPrefect(api: string, databaseUrl: string, tenants: TenantRuns[], targets: { flowRuns: number; taskRuns: number }): Promise<PrefectData> {
  const started = performance.now();
  const flow = await prefectCall<{ id: string }>(api, "POST", "/flows/", { name: "bench" });
  const pools: { name: string; default_queue_id: string }[] = [];
  for (let index = 0; index < tenants.length; index++) pools.push(await prefectCall(api, "POST", "/work_pools/", { name: `bench-poll-${index}`, type: "process" }));
  await prefectCall(api, "POST", "/work_pools/", { name: CREATE_POOL, type: "process" });
  const deployment = await prefectCall<{ id: string }>(api, "POST", "/deployments/", { name: "bench-create", flow_id: flow.id, work_pool_name: CREATE_POOL });
  const run = (state: Record<string, unknown>, workPool?: string) =>
    prefectCall<{ id: string; state_id: string }>(api, "POST", "/flow_runs/", { flow_id: flow.id, work_pool_name: workPool, state });
  const at = (time: string) => ({ type: "SCHEDULED", state_details: { scheduled_time: time } });
  const templates = {
    due: await run(at("2000-01-01T00:00:00Z"), POLLED_POOL),
    ahead: await run(at("2100-01-01T00:00:00Z"), POLLED_POOL),
    running: await run({ type: "RUNNING" }, POLLED_POOL),
    finished: await run({ type: "COMPLETED" }, POLLED_POOL),
  };
  const target = await run({ type: "RUNNING" });
  const task = await prefectCall<{ id: string; state_id: string }>(api, "POST", "/task_runs/", {
    flow_run_id: target.id,
    task_key: "task-1",
    dynamic_key: "0",
    state: { type: "RUNNING" },
  });

  // as our seeds do: due an hour back (and a second more for each), ahead in 2100
  const scheduledAt: Partial<Record<keyof TenantRuns, string>> = {
    due: "now() - interval '1 hour' - n * interval '1 second'",
    ahead: "timestamptz '2100-01-01' + n * interval '1 second'",
  };
  const statements: string[] = [];
  let next = 1;
  tenants.forEach((counts, index) => {
    for (const kind of ["due", "ahead", "running", "finished"] as const) {
      if (counts[kind] === 0) continue;
      const [from, to] = [next, next + counts[kind] - 1];
      next = to + 1;
      const when = scheduledAt[kind];
      const times = when ? `, 'next_scheduled_start_time', ${when}, 'expected_start_time', ${when}` : "";
      statements.push(
        copiesSql(
          "flow_run",
          templates[kind].id,
          from,
          to,
          `jsonb_build_object('id', ${uuidOf("run")}, 'name', 'poll-run-' || n, 'state_id', ${uuidOf("run-state")}, ` +
            `'work_queue_id', '${pools[index]!.default_queue_id}'${times})`,
        ),
        copiesSql(
          "flow_run_state",
          templates[kind].state_id,
          from,
          to,
          `jsonb_build_object('id', ${uuidOf("run-state")}, 'flow_run_id', ${uuidOf("run")}, 'state_details', t.state_details || ` +
            `jsonb_build_object('flow_run_id', ${uuidOf("run")}${when ? `, 'scheduled_time', ${when}` : ""}))`,
        ),
      );
    }
  });
  const perFlowRun = targets.taskRuns / targets.flowRuns;
  const targetRun = `${uuidOf("target-run", `(1 + (n - 1) / ${perFlowRun})`)}`;
  statements.push(
    copiesSql("flow_run", target.id, 1, targets.flowRuns, `jsonb_build_object('id', ${uuidOf("target-run")}, 'name', 'target-run-' || n, 'state_id', ${uuidOf("target-run-state")})`),
    copiesSql(
      "flow_run_state",
      target.state_id,
      1,
      targets.flowRuns,
      `jsonb_build_object('id', ${uuidOf("target-run-state")}, 'flow_run_id', ${uuidOf("target-run")}, ` +
        `'state_details', t.state_details || jsonb_build_object('flow_run_id', ${uuidOf("target-run")}))`,
    ),
    copiesSql(
      "task_run",
      task.id,
      1,
      targets.taskRuns,
      `jsonb_build_object('id', ${uuidOf("target-task")}, 'name', 'target-task-' || n, 'flow_run_id', ${targetRun}, ` +
        `'task_key', 'task-' || (1 + (n - 1) % ${perFlowRun}), 'state_id', ${uuidOf("target-task-state")}, ` +
        `'labels', t.labels || jsonb_build_object('prefect.flow-run.id', ${targetRun}))`,
    ),
    copiesSql(
      "task_run_state",
      task.state_id,
      1,
      targets.taskRuns,
      `jsonb_build_object('id', ${uuidOf("target-task-state")}, 'task_run_id', ${uuidOf("target-task")}, ` +
        `'state_details', t.state_details || jsonb_build_object('task_run_id', ${uuidOf("target-task")}, 'flow_run_id', ${targetRun}))`,
    ),
  );
  const templateIds = [...Object.values(templates), target].map((template) => template.id);
  const { taskRunIds, readIds } = await withClient(databaseUrl, async (client) => {
    await client.query("begin");
    // the copies of a run and of its state row refer to each other: foreign keys are checked by triggers, off here
    await client.query("set local session_replication_role = replica");
    for (const statement of statements) await client.query(statement);
    // the templates go, with their states and task run (cascades are foreign-key triggers too)
    await client.query("set local session_replication_role = origin");
    await client.query("delete from flow_run where id = any($1::uuid[])", [templateIds]);
    await client.query("commit");
    await client.query("analyze");
    const tasks = await client.query<{ id: string }>("select id::text from task_run");
    const reads = await client.query<{ id: string }>("select id::text from flow_run where work_queue_id = $1 order by random() limit $2", [
      pools[0]!.default_queue_id,
      READ_IDS,
    ]);
    return { taskRunIds: tasks.rows.map((row) => row.id), readIds: reads.rows.map((row) => row.id) };
  });
  const runs = tenants.reduce((sum, counts) => sum + counts.due + counts.ahead + counts.running + counts.finished, 0);
  const count = (n: number) => n.toLocaleString("en-US");
  return {
    deploymentId: deployment.id,
    taskRunIds,
    readIds,
    description:
      `${count(runs)} flow runs in ${tenants.length} work pools (${count(tenants[0]!.due)} due in the polled one), ` +
      `${count(targets.taskRuns)} Running task runs in ${count(targets.flowRuns)} Running flow runs`,
    seconds: (performance.now() - started) / 1000,
  };
}

/** One side of a comparison: where its requests go and what a successful answer is. */
interface Side {
  url: string;
  requests: WrkRequest[];
  /** For Prefect 3 (ours: HTTP 200 without GraphQL errors). */
  expect?: WrkExpectation;
  /** Checks the first request's answer before any load. */
  check: () => Promise<void>;
}

interface Comparison {
  name: string;
  /** What each side sends. */
  ours: string;
  theirs: string;
  sides: { ours: Side; theirs: Side };
}

/** Checks of a comparison's first answers beyond their status (a problem, or undefined). */
interface AnswerChecks {
  ours?: (data: Record<string, unknown>) => string | undefined;
  theirs?: (body: string) => string | undefined;
}

const pick = <T>(values: T[]): T => values[Math.floor(Math.random() * values.length)]!;

/** Sends a Prefect 3 request of a pool once; throws unless the answer is what the load run expects. */
async function checkPrefect(api: string, request: WrkRequest, expect: WrkExpectation, answer: (body: string) => string | undefined = () => undefined) {
  const response = await fetch(`${new URL(api).origin}${request.path}`, {
    method: request.method ?? "POST",
    headers: { "content-type": "application/json", ...request.headers },
    body: request.method === "GET" ? undefined : request.body,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  const problem =
    response.status !== expect.status
      ? `HTTP ${response.status}`
      : expect.includes && !text.includes(expect.includes)
        ? `no ${expect.includes}`
        : answer(text);
  if (problem) throw new Error(`${PREFECT}: ${request.method ?? "POST"} ${request.path}: ${problem}: ${text.slice(0, 500)}`);
}

function comparisons(
  gateway: string,
  api: string,
  ours: { taskRunIds: string[]; flowId: string; readIds: string[]; poll: { body: string; headers: Record<string, string> } },
  theirs: PrefectData,
): Comparison[] {
  const apiPath = new URL(api).pathname;
  const before = new Date(Date.now() + 10_000).toISOString();
  const graphqlCheck = (request: WrkRequest, answer: (data: Record<string, unknown>) => string | undefined = () => undefined) => async () => {
    const problem = answer(await graphql(gateway, request.body, request.headers));
    if (problem) throw new Error(`the gateway: ${problem}`);
  };
  const sides = (oursRequests: WrkRequest[], theirsRequests: WrkRequest[], expect: WrkExpectation, checks: AnswerChecks = {}) => ({
    ours: { url: gateway, requests: oursRequests, check: graphqlCheck(oursRequests[0]!, checks.ours) },
    theirs: { url: api, requests: theirsRequests, expect, check: () => checkPrefect(api, theirsRequests[0]!, expect, checks.theirs) },
  });
  const prefectPost = (path: string, body: unknown): WrkRequest => ({ path: `${apiPath}${path}`, body: JSON.stringify(body), headers: PREFECT_HEADERS });
  const pollAnswer = (count: number) => (count === POLL_LIMIT ? undefined : `the poll returned ${count} runs, expected ${POLL_LIMIT}`);
  return [
    {
      name: "one task-run state write",
      ours: "set_task_run_states, 1 Running state (Core)",
      theirs: "POST /task_runs/{id}/set_state, Running",
      sides: sides(
        Array.from({ length: WRITE_BODIES }, () => ({ body: setTaskRunStatesBody([pick(ours.taskRunIds)]), headers: CORE_HEADERS })),
        Array.from({ length: WRITE_BODIES }, () =>
          prefectPost(`/task_runs/${pick(theirs.taskRunIds)}/set_state`, { state: { type: "RUNNING", name: "Running", message: "Starting task run." }, force: false }),
        ),
        { status: 201, includes: '"status":"ACCEPT"' },
      ),
    },
    {
      name: "flow-run creation",
      ours: "create_flow_run, a flow of 1 task (Core)",
      theirs: "POST /deployments/{id}/create_flow_run",
      sides: sides(
        [{ body: coreBody(CREATE_FLOW_RUN, { input: { flow_id: ours.flowId } }), headers: CORE_HEADERS }],
        [prefectPost(`/deployments/${theirs.deploymentId}/create_flow_run`, { parameters: {}, context: {}, state: { type: "SCHEDULED", name: "Scheduled" }, tags: [], labels: {} })],
        { status: 201 },
      ),
    },
    {
      name: "read by id",
      ours: "flow_run_by_pk with task runs, id inline (Core)",
      theirs: "GET /flow_runs/{id}",
      sides: sides(
        ours.readIds.map((id) => ({ body: coreBody(byPkInline(id), null), headers: CORE_HEADERS })),
        theirs.readIds.map((id) => ({ method: "GET", path: `${apiPath}/flow_runs/${id}`, body: "", headers: PREFECT_HEADERS })),
        { status: 200 },
      ),
    },
    {
      name: "agent poll",
      ours: "get_runs_in_queue (LocalAgent)",
      theirs: "POST /work_pools/{name}/get_scheduled_flow_runs (worker)",
      sides: sides([ours.poll], [prefectPost(`/work_pools/${POLLED_POOL}/get_scheduled_flow_runs`, { scheduled_before: before, limit: POLL_LIMIT })], { status: 200 }, {
        ours: (data) => pollAnswer((data.get_runs_in_queue as { flow_run_ids: string[] }).flow_run_ids.length),
        theirs: (body) => pollAnswer((JSON.parse(body) as unknown[]).length),
      }),
    },
  ];
}

const rate = (value: number) => Math.round(value).toLocaleString("en-US");
const times = (ratio: number) => `${ratio.toFixed(1)}×`;

async function measure(comparison: Comparison, plan: LoadPlan, phase: (name: string) => void): Promise<{ measurements: Measurement[]; notes: string[] }> {
  const { sides } = comparison;
  const workload = { ours: `${comparison.name}: ours, ${comparison.ours}`, theirs: `${comparison.name}: ${PREFECT}, ${comparison.theirs}` };
  const label = { ours: "ours", theirs: PREFECT };
  const load = (side: "ours" | "theirs", clients: number, seconds: number) => {
    const { url, requests, expect } = sides[side];
    return runWrk({ url, requests, expect, clients, seconds });
  };
  for (const side of ["ours", "theirs"] as const) {
    await sides[side].check();
    if (plan.warmupSeconds > 0) await load(side, Math.min(8, Math.max(...plan.clients)), plan.warmupSeconds);
  }
  const measurements: Measurement[] = [];
  const notes: string[] = [];
  for (const clients of plan.clients) {
    const rounds: Record<"ours" | "theirs", Measurement[]> = { ours: [], theirs: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const side of ["ours", "theirs"] as const) {
        phase(`${PREFECT} comparison: ${comparison.name}, ${label[side]}, ${clients} clients, round ${round} of ${ROUNDS}`);
        const result = await load(side, clients, plan.seconds);
        if (result.errors) console.warn(`${workload[side]} @ ${clients}: ${result.errors} failed requests, the first: ${result.firstError}`);
        rounds[side].push({
          group: `${PREFECT} side by side`,
          workload: workload[side],
          label: label[side],
          clients,
          throughput: result.requestsPerSecond,
          p50Ms: result.p50Ms,
          p99Ms: result.p99Ms,
          errors: result.errors,
        });
      }
    }
    // the table shows each side's median round; ours as a multiple of Prefect 3's
    const medianRound = (side: "ours" | "theirs") => [...rounds[side]].sort((a, b) => a.throughput - b.throughput)[Math.floor(ROUNDS / 2)]!;
    measurements.push({ ...medianRound("ours"), ceiling: workload.theirs }, medianRound("theirs"));
    const rates = (side: "ours" | "theirs") => rounds[side].map((m) => m.throughput);
    const p50 = (side: "ours" | "theirs") => median(rounds[side].map((m) => m.p50Ms));
    notes.push(
      `${PREFECT} side by side, ${comparison.name} at ${clients} client${clients > 1 ? "s" : ""} (requests/s of ${ROUNDS} interleaved rounds): ` +
        `ours ${rates("ours").map(rate).join(", ")}; ${PREFECT} ${rates("theirs").map(rate).join(", ")}; ` +
        `ours ${times(median(rates("ours")) / median(rates("theirs")))} the requests/s, median p50 ${p50("ours").toFixed(2)} ms against ${p50("theirs").toFixed(2)} ms`,
    );
  }
  return { measurements, notes };
}

export interface Prefect3Result {
  seeding: string[];
  measurements: Measurement[];
  notes: string[];
}

export async function measurePrefect3(
  pool: pg.Pool,
  prefectDatabaseUrl: string,
  scale: "full" | "quick",
  options: ServiceOptions,
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<Prefect3Result> {
  const venvLog = join(options.logDir, "prefect3-venv.log");
  phase(`${PREFECT} comparison: its virtualenv (built once; pip's output in ${venvLog})`);
  let venv: Venv;
  try {
    venv = await ensureVirtualenv(PREFECT3, (line) => appendFileSync(venvLog, `${line}\n`));
  } catch (error) {
    const reason = `${(error as Error).message.split("\n")[0]!.replace(/:$/, "")}${existsSync(venvLog) ? ` (pip's output in ${venvLog})` : ""}`;
    console.log(`${PREFECT} comparison skipped: ${reason}`);
    return { seeding: [], measurements: [], notes: [`${PREFECT} comparison: skipped, its server could not be installed: ${reason}`] };
  }

  // our side's data (seeded once, kept)
  const targets = await prepareStateTargets(pool);
  const queue = await prepareQueue(pool, QUEUE_SCALES[scale], (line) => console.log(`  ${line}`));
  const tenants = await queueRuns(pool, queue.tenantId);
  const flowId = await prepareCreateFlow(pool);
  const { rows: agent } = await pool.query<{ labels: string[] }>("select labels from agent where id = $1", [queue.agentId]);
  const { rows: reads } = await pool.query<{ id: string }>("select id::text from flow_run where tenant_id = $1 order by random() limit $2", [
    queue.tenantId,
    READ_IDS,
  ]);
  const { rows: targetRuns } = await pool.query<{ count: number }>("select count(distinct flow_run_id)::int as count from task_run where id = any($1::uuid[])", [
    targets.taskRunIds,
  ]);
  const poll = {
    body: coreBody(GET_RUNS_IN_QUEUE, { input: { before: new Date(Date.now() + 10_000).toISOString(), labels: agent[0]!.labels, tenant_id: queue.tenantId } }),
    headers: { ...CORE_HEADERS, "X-PREFECT-AGENT-ID": queue.agentId },
  };

  await dropDatabase(prefectDatabaseUrl);
  await ensureDatabase(prefectDatabaseUrl);
  const releaseInterrupt = dropOnInterrupt(prefectDatabaseUrl);
  let prefect: { process: ManagedProcess; api: string } | undefined;
  let api: Awaited<ReturnType<typeof startApi>> | undefined;
  const sampler = new RssSampler();
  try {
    phase(`${PREFECT} comparison: starting ${PREFECT} (its migrations on a new database) and our API`);
    const [prefectStart, apiStart] = await Promise.allSettled([startPrefect(venv, prefectDatabaseUrl, options.logDir), startApi(options)]);
    // whichever started is stopped below, also when the other did not
    if (prefectStart.status === "fulfilled") prefect = prefectStart.value;
    if (apiStart.status === "fulfilled") api = apiStart.value;
    if (prefectStart.status === "rejected") throw prefectStart.reason;
    if (apiStart.status === "rejected") throw apiStart.reason;
    const server = prefectStart.value;
    const ours = apiStart.value;
    // both left alone for one point's time, then their idle RSS
    await new Promise((done) => setTimeout(done, Math.max(1, plan.seconds) * 1000));
    sampler.watch(PREFECT, server.process.pid);
    for (const service of ours.all) sampler.watch(service.name, service.process.pid);
    const rss = (names: string[], of: "lastMiB" | "peakMiB") =>
      sampler
        .peaks()
        .filter((peak) => names.includes(peak.service))
        .reduce((sum, peak) => sum + peak[of], 0);
    const oursNames = ours.all.map((service) => service.name as string);
    const idle = { ours: rss(oursNames, "lastMiB"), theirs: rss([PREFECT], "lastMiB") };

    phase(`${PREFECT} comparison: seeding ${PREFECT}`);
    const theirs = await seedPrefect(server.api, prefectDatabaseUrl, tenants, { flowRuns: targetRuns[0]!.count, taskRuns: targets.taskRunIds.length });
    const seeding = [`${PREFECT} (a new database each run): ${theirs.description} (${theirs.seconds.toFixed(1)} s)`];

    const measurements: Measurement[] = [];
    const notes: string[] = [];
    for (const comparison of comparisons(ours.urls.gateway, server.api, { taskRunIds: targets.taskRunIds, flowId, readIds: reads.map((row) => row.id), poll }, theirs)) {
      sampler.phase = `${PREFECT} comparison: ${comparison.name}`;
      const result = await measure(comparison, plan, phase);
      measurements.push(...result.measurements);
      notes.push(...result.notes);
    }
    // the services peak at different moments; the sum of their peaks bounds what ours held at once
    const peak = { ours: rss(oursNames, "peakMiB"), theirs: rss([PREFECT], "peakMiB") };
    const mib = (value: number) => `${value.toFixed(0)} MiB`;
    notes.push(
      `${PREFECT} side by side, resident memory (RSS): idle after start-up, ours ${mib(idle.ours)} (${oursNames.join(", ")}; ${ours.all.length} services ` +
        `with the data graph's workers) against ${PREFECT}'s ${mib(idle.theirs)} (one process), ${times(idle.ours / idle.theirs)}; ` +
        `at the peak during the comparison ${mib(peak.ours)} (the sum of each service's peak) against ${mib(peak.theirs)}, ${times(peak.ours / peak.theirs)}`,
    );
    return { seeding, measurements, notes };
  } finally {
    sampler.stop();
    if (api) await stopServices(api.all);
    if (prefect) await prefect.process.stop("SIGTERM", 20_000);
    await dropDatabase(prefectDatabaseUrl);
    releaseInterrupt();
    await deleteCreatedRuns(pool, flowId);
  }
}
