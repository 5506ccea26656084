/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL answers are read field by field */
// The fault suite (docs/operations.md): the whole stack as real processes on a Postgres and a redis-server of the
// suite's own, three writers writing states and log batches through the gateway the way Prefect Core does (retrying
// connection errors and 5xx answers), a cloud hook on every state they write, and two towel replicas whose loop passes
// last seconds. Then, one after the other: SIGKILL of the mutations service, the gateway and the data graph (each
// started again, as compose or Kubernetes would), of the towel replica in the middle of a pass, a Redis restart that
// loses everything, and a Postgres crash (immediate shutdown, recovery from the WAL).
//
// What must hold: every write the server acknowledged is stored exactly once, and none is stored twice (a write
// whose answer was lost and that the writer sent again included); every state change is delivered to the hook; every
// loop resumes, a killed replica's loop on the other replica within the lock time; the stack serves afterwards. The
// outage each fault causes (the longest time without an acknowledged write) is printed; docs/benchmarks.md records a
// run.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PrivateRedis } from "../towel/harness.ts";
import { serializedFlow } from "../mutations/helpers.ts";
import { waitFor } from "../helpers/wait.ts";
import { Receiver } from "../helpers/receiver.ts";
import { OwnPostgres, Stack, Writer, sendLikeCore } from "./harness.ts";

const postgres = new OwnPostgres();
const redis = new PrivateRedis();
const receiver = new Receiver();
const stack = new Stack();
const writers: Writer[] = [];
let db: pg.Pool;
/** Each loop pass lasts this much longer (the towel replicas' hook), so that a replica can be killed during one. */
const PASS_DELAY_MS = 3_000;
const LOOPS = ["Scheduler", "Lazarus", "ZombieKiller"];

async function api(query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const response = await fetch(stack.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body: any = await response.json();
  if (body.errors?.length) throw new Error(`${query}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

beforeAll(async () => {
  await Promise.all([postgres.start(), redis.start(), receiver.start()]);
  db = new pg.Pool({ connectionString: postgres.url, max: 2 });
  db.on("error", () => {});
  await stack.configure(postgres.url, redis.url, `prefect-faults-${process.pid}`);
  await Promise.all([stack.start("postgraphile"), stack.start("mutations")]);
  await stack.start("gateway");
  await Promise.all(["towel-a", "towel-b"].map((name) => stack.start(name as "towel-a", { FAULT_PASS_DELAY_MS: String(PASS_DELAY_MS) })));

  const tenantId = (await api(`mutation { create_tenant(input: {name: "faults", slug: "faults"}) { id } }`)).create_tenant.id;
  const projectId = (await api(`mutation($t: UUID!) { create_project(input: {tenant_id: $t, name: "faults"}) { id } }`, { t: tenantId })).create_project.id;
  const flowId = (await api(`mutation($input: create_flow_input!) { create_flow(input: $input) { id } }`, { input: { project_id: projectId, serialized_flow: serializedFlow({ name: "faults" }), set_schedule_active: false } })).create_flow.id;
  await api(`mutation($input: create_cloud_hook_input!) { create_cloud_hook(input: $input) { id } }`, {
    input: { tenant_id: tenantId, type: "WEBHOOK", states: ["RUNNING"], config: { url: receiver.url } },
  });
  for (const name of ["w1", "w2", "w3"]) {
    const runId = (await api(`mutation($f: UUID!) { create_flow_run(input: {flow_id: $f}) { id } }`, { f: flowId })).create_flow_run.id;
    writers.push(new Writer(name, runId, () => stack.url));
  }
}, 240_000);

afterAll(async () => {
  await Promise.all(writers.map((writer) => writer.stop()));
  await stack.stop();
  await db?.end();
  await Promise.all([redis.dispose(), postgres.dispose(), receiver.stop()]);
}, 60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const allWrites = () => writers.flatMap((writer) => writer.writes);

/** The longest time from `from` without an acknowledged write, once writes are acknowledged again. */
async function outageSince(from: number, what: string): Promise<number> {
  await waitFor(`an acknowledged write after ${what}`, () => allWrites().some((write) => write.acknowledged && write.at > from + 500), 90_000);
  const acknowledged = allWrites()
    .filter((write) => write.acknowledged && write.at >= from)
    .map((write) => write.at)
    .sort((a, b) => a - b);
  let longest = acknowledged[0]! - from;
  for (let i = 1; i < acknowledged.length; i++) longest = Math.max(longest, acknowledged[i]! - acknowledged[i - 1]!);
  return longest;
}

const passes = () => [...stack.passes("towel-a"), ...stack.passes("towel-b")];

test(
  "kill -9 of every service, a Redis restart and a Postgres crash under writes: nothing acknowledged lost or doubled, every hook delivered, every loop resumed",
  { timeout: 600_000 },
  async () => {
    for (const writer of writers) writer.start();
    await sleep(2_000);
    const outages: Record<string, number> = {};

    for (const name of ["mutations", "gateway", "postgraphile"] as const) {
      const at = Date.now();
      await stack.kill(name);
      await stack.start(name);
      outages[`kill -9 ${name}`] = await outageSince(at, `kill -9 ${name}`);
      await sleep(1_000);
    }

    // a towel replica killed in the middle of a pass: the loop runs again on the other one
    await waitFor("a pass in progress", () => passes().some((pass) => pass.pass === "started" && !passes().some((end) => end.pass === "finished" && end.job === pass.job && end.loop === pass.loop)), 30_000);
    const inProgress = passes().find((pass) => pass.pass === "started" && !passes().some((end) => end.pass === "finished" && end.job === pass.job && end.loop === pass.loop))!;
    const victim = inProgress.replica as "towel-a" | "towel-b";
    const survivor = victim === "towel-a" ? "towel-b" : "towel-a";
    const killedAt = Date.now();
    await stack.kill(victim);
    await waitFor(`${inProgress.loop} on ${survivor}`, () => stack.passes(survivor).some((pass) => pass.pass === "started" && pass.loop === inProgress.loop && pass.at > killedAt), 40_000);
    const failover = stack.passes(survivor).find((pass) => pass.pass === "started" && pass.loop === inProgress.loop && pass.at > killedAt)!.at - killedAt;
    outages[`kill -9 towel replica mid-pass: ${inProgress.loop} resumed on the other replica after (ms)`] = failover;
    // the lock (8 s) and the stalled-job check (every 4 s) bound it (12 s), with room for a slow machine
    expect(failover).toBeLessThan(25_000);
    await stack.start(victim, { FAULT_PASS_DELAY_MS: String(PASS_DELAY_MS) });

    // Redis restarted without persistence: every job it held is gone (deliveries waiting, loop schedulers)
    let at = Date.now();
    await redis.stop();
    await sleep(1_000);
    await redis.start();
    outages["Redis restart (empty)"] = await outageSince(at, "the Redis restart");

    // Postgres crashes (immediate shutdown) and comes back: the services reconnect by themselves
    at = Date.now();
    await postgres.crash();
    await sleep(1_000);
    await postgres.start();
    outages["Postgres crash and restart"] = await outageSince(at, "the Postgres restart");
    const recovered = Date.now();

    await sleep(3_000);
    await Promise.all(writers.map((writer) => writer.stop()));
    console.log(`fault suite outages (ms): ${JSON.stringify(outages)}`);

    // every acknowledged write stored exactly once; no write stored twice
    const states = new Map<string, number>();
    for (const row of (await db.query("select message from flow_run_state where state = 'Running'")).rows) states.set(row.message, (states.get(row.message) ?? 0) + 1);
    const logs = new Map<string, number>();
    for (const row of (await db.query("select message from log where name = 'prefect.FlowRunner'")).rows) logs.set(row.message, (logs.get(row.message) ?? 0) + 1);
    const writes = allWrites();
    const acknowledged = writes.filter((write) => write.acknowledged);
    expect(acknowledged.length).toBeGreaterThan(50);
    const lost = acknowledged.filter((write) => (write.kind === "state" ? [states.get(write.key)] : [0, 1, 2].map((n) => logs.get(`${write.key}-${n}`))).some((n) => !n));
    const doubled = writes.filter((write) => (write.kind === "state" ? [states.get(write.key)] : [0, 1, 2].map((n) => logs.get(`${write.key}-${n}`))).some((n) => (n ?? 0) > 1));
    expect({ lost, doubled }).toEqual({ lost: [], doubled: [] });

    // no process gave up by itself (a restarted Postgres or Redis is waited for, not a reason to exit)
    const exited = [...stack.processes].filter(([, run]) => run.child.exitCode !== null || run.child.signalCode !== null);
    expect(exited.map(([name, run]) => `${name}: exit ${run.child.exitCode}: ${run.stderr.slice(0, 1500)}`)).toEqual([]);

    // every Running state written is delivered to the hook (at least once)
    const stateIds = (await db.query("select s.id::text from flow_run_state s where s.state = 'Running' and s.flow_run_id = any($1::uuid[])", [writers.map((writer) => writer.flowRunId)])).rows.map((row) => row.id);
    const undelivered = () => {
      const delivered = new Set(receiver.requests.map((request) => request.headers["x-prefect-event-id"]));
      return stateIds.filter((id) => !delivered.has(id));
    };
    await waitFor("every state change delivered to the hook", () => undelivered().length === 0, 90_000).catch(async (error: Error) => {
      const missing = undelivered();
      const owed = (await db.query("select enqueued is not null as enqueued, done is not null as done, outcome, count(*)::int from internal.outbox where state_id = any($1::uuid[]) group by 1, 2, 3", [missing])).rows;
      throw new Error(`${error.message}: ${missing.length} of ${stateIds.length} not delivered; their outbox rows: ${JSON.stringify(owed)}`);
    });

    // every loop runs again after the last fault
    await waitFor("a pass of every loop after the Postgres restart", () => LOOPS.every((loop) => passes().some((pass) => pass.pass === "finished" && pass.loop === loop && pass.at > recovered)), 60_000);

    // and the stack serves
    expect(await stack.healthy("gateway")).toBe(true);
    expect(await sendLikeCore(stack.url, "{ hello }", {})).toBe(true);
  },
);
