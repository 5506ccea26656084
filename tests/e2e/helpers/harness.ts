/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// The end-to-end harness: one test file = one database (tests/helpers/database.ts), one Redis prefix, one whole
// server started through the CLI, one Prefect Core environment (isolated HOME) with its agents.
//
//   const e2e = useE2E();
//   test("…", async () => {
//     await e2e.core.prefectOk(["register", "-p", flowFile("simple.py"), "--project", "e2e"]);
//     const agent = await e2e.core.startAgent();
//     const run = await e2e.waitFor("the run to succeed", async () => …);
//   });
//
// Everything started here is stopped in afterAll, agents first; a service that does not stop on SIGTERM fails the
// file. The logs (services, agents, every command) are in a temporary folder that is removed after a successful file
// and kept, with its path printed, after a failure (always with PREFECT_SERVER_E2E_KEEP_LOGS=1).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, type RunnerTask } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../helpers/database.ts";
import { useTestRedis } from "../../helpers/redis.ts";
import { ensureVenv } from "../venv.ts";
import { Core } from "./core.ts";
import { startServer, type RunningServer } from "./server.ts";

export const FLOWS_DIR = resolve(fileURLToPath(import.meta.url), "../../flows");

/** The absolute path of a flow file in tests/e2e/flows. */
export function flowFile(name: string): string {
  return join(FLOWS_DIR, name);
}

/** beforeAll's time: building the venv (only when missing) and starting the server. */
export const SETUP_TIMEOUT_MS = 20 * 60_000;

export interface E2EOptions {
  gatewayMode?: "distributed" | "in_process" | "single_process";
  /** user:password: the gateway requires basic auth and Core sends it in the endpoint URL */
  authString?: string;
}

export interface E2E {
  readonly server: RunningServer;
  readonly core: Core;
  readonly db: TestDatabase;
  /** the gateway URL without credentials */
  readonly url: string;
  /** A GraphQL request to the gateway; errors in the answer throw. */
  graphql<T = any>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /**
   * Polls `probe` until it returns something other than undefined/false/null; fails after `timeoutMs` (default
   * 60 s) with `what`, the last thing the probe reported through `seen` (or its last error) and the agents' recent
   * output.
   */
  waitFor<T>(
    what: string,
    probe: (seen: (value: unknown) => void) => Promise<T | undefined | null | false>,
    timeoutMs?: number,
  ): Promise<T>;
}

export function useE2E(options: E2EOptions = {}): E2E {
  const redis = useTestRedis();
  let workDir: string | undefined;
  let db: TestDatabase | undefined;
  let server: RunningServer | undefined;
  let core: Core | undefined;

  beforeAll(async () => {
    const venv = await ensureVenv((line) => console.log(`[venv] ${line}`));
    workDir = mkdtempSync(join(tmpdir(), "prefect-e2e-"));
    db = await createTestDatabase();
    server = await startServer({
      databaseUrl: db.url,
      redisUrl: redis.url,
      queuePrefix: redis.prefix,
      workDir,
      gatewayMode: options.gatewayMode,
      authString: options.authString,
    });
    const endpoint = new URL(server.url);
    if (options.authString) {
      const [user, ...password] = options.authString.split(":");
      endpoint.username = encodeURIComponent(user!);
      endpoint.password = encodeURIComponent(password.join(":"));
    }
    core = new Core({ venv, endpoint: endpoint.toString().replace(/\/$/, ""), workDir });
  }, SETUP_TIMEOUT_MS);

  // vitest passes afterAll the suite it belongs to (here the file) as its second argument; the first must be a
  // destructuring pattern, or vitest refuses the hook. Walking the suite catches what afterEach would miss: a failed
  // beforeAll (of the file or of a describe) runs no afterEach.
  // eslint-disable-next-line no-empty-pattern
  afterAll(async ({}, suite) => {
    const failed = hasFailure(suite);
    const problems: string[] = [];
    await core?.stopAgents().catch((error: unknown) => problems.push(String(error)));
    await server?.stop().catch((error: unknown) => problems.push((error as Error).message));
    await db?.drop().catch((error: unknown) => problems.push(String(error)));
    if (workDir) {
      if (failed || problems.length || process.env.PREFECT_SERVER_E2E_KEEP_LOGS) console.error(`[e2e] logs kept in ${workDir}`);
      else rmSync(workDir, { recursive: true, force: true });
    }
    if (problems.length) throw new Error(`e2e teardown:\n${problems.join("\n")}`);
  }, 120_000);

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useE2E(): the ${what} exists only inside tests and hooks`);
    return value;
  };

  const headers = (): Record<string, string> =>
    options.authString ? { authorization: `Basic ${Buffer.from(options.authString).toString("base64")}` } : {};

  const request = async (body: unknown) => {
    const response = await fetch(need(server, "server").url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers() },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: returned as text */
    }
    return { status: response.status, body: parsed as any };
  };

  const e2e: E2E = {
    get server() {
      return need(server, "server");
    },
    get core() {
      return need(core, "Core client");
    },
    get db() {
      return need(db, "database");
    },
    get url() {
      return need(server, "server").url;
    },
    async graphql(query, variables) {
      const { status, body } = await request({ query, variables: variables ?? null });
      if (status !== 200 || !body || typeof body !== "object" || body.errors) {
        throw new Error(`GraphQL request failed (HTTP ${status}): ${JSON.stringify(body)}\nquery: ${query}`);
      }
      return body.data;
    },
    async waitFor(what, probe, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      let interval = 100;
      for (;;) {
        try {
          const value = await probe((seen) => {
            last = seen;
          });
          if (value !== undefined && value !== null && value !== false) return value as any;
        } catch (error) {
          last = error instanceof Error ? `error: ${error.message}` : error;
        }
        if (Date.now() >= deadline) break;
        await new Promise((done) => setTimeout(done, interval));
        interval = Math.min(interval * 2, 1_000);
      }
      const agents = core?.agentTails() ?? "";
      throw new Error(
        `Timed out after ${timeoutMs / 1000} s waiting for ${what}; last seen: ${JSON.stringify(last)}` +
          (agents ? `\nagents' recent output:\n${agents}` : ""),
      );
    },
  };
  return e2e;
}

/** Whether a task, or anything below it (tests, describes, their hooks), failed so far. */
function hasFailure(task: Readonly<RunnerTask>): boolean {
  if (task.result?.state === "fail" || task.result?.errors?.length) return true;
  return "tasks" in task && task.tasks.some(hasFailure);
}
