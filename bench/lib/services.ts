// The services under test, each started as `node bin/prefect-server.js services <name>` in a child process of its
// own (process group, output to a log file) on a free port of 127.0.0.1, with the production defaults except for
// the database, the queue prefix and the ports. Process handling is the end-to-end suite's (tests/e2e/helpers):
// whatever is still running when the bench exits is killed with its group.
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVICE_NODE_OPTIONS, SINGLE_PROCESS_NODE_OPTIONS, type ServiceName } from "../../services/cli/src/registry.ts";
import { SINGLE_PROCESS_NAME } from "../../services/cli/src/single_process.ts";
import { ManagedProcess } from "../../tests/e2e/helpers/processes.ts";

const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const CLI = join(REPO, "bin", "prefect-server.js");
const START_TIMEOUT_MS = 90_000;

export type { ServiceName };

export interface ServiceOptions {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** where the services' logs go */
  logDir: string;
  /** write a V8 CPU profile of each service into this folder when it stops (`node --cpu-prof`) */
  cpuProfileDir?: string;
  /** extra settings for every service */
  env?: Record<string, string>;
}

interface RunningService {
  name: Runnable;
  process: ManagedProcess;
  /** http://127.0.0.1:<port> (none for the towel) */
  origin?: string;
}

/** A service's environment: none of the outer PREFECT/DATABASE/REDIS settings, the bench's database and queues. */
function serviceEnv(options: ServiceOptions, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(PREFECT|DATABASE_URL$|REDIS_URL$|APOLLO_API_|NODE_OPTIONS$)/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    PREFECT_SERVER__USER_CONFIG_PATH: join(options.logDir, "no-user-config.toml"),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    PREFECT_SERVER__QUEUE__PREFIX: options.queuePrefix,
    PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
    // the towel's metrics listener on a free port: a towel a developer runs may hold the default one
    PREFECT_SERVER__SERVICES__TOWEL__METRICS_PORT: "0",
    PREFECT_SERVER__LOGGING__LEVEL: "info",
    // The write workloads pick their bodies at random from a pool, so a body often lands again on the run whose
    // current state it wrote; with the default, that is a resend and stores nothing (docs/operations.md, "Retried
    // writes"). Clients do not send the same state twice; every write of the bench is measured as a new one.
    PREFECT_SERVER__SERVICES__MUTATIONS__RESENT_STATE_WINDOW_SECONDS: "0",
    ...options.env,
    ...extra,
  };
}

type Runnable = ServiceName | typeof SINGLE_PROCESS_NAME;

const LISTENING: Record<Runnable, string> = {
  postgraphile: "data graph listening",
  mutations: "mutations service listening",
  gateway: "gateway listening",
  towel: "towel started",
  [SINGLE_PROCESS_NAME]: "gateway listening",
};

const NODE_OPTIONS: Record<Runnable, readonly string[]> = { ...SERVICE_NODE_OPTIONS, [SINGLE_PROCESS_NAME]: SINGLE_PROCESS_NODE_OPTIONS };

function listeningLine(message: string) {
  return (line: string): number | undefined => {
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      return entry.msg === message ? (entry.port ?? 0) : undefined;
    } catch {
      return undefined;
    }
  };
}

/**
 * Compiles the services (`npm run build`), so that they run as in production: bin/prefect-server.js runs the build
 * in dist/ while it is newer than every source file.
 */
export function buildServices(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO, stdio: "inherit" });
}

/**
 * Starts one service, or with SINGLE_PROCESS_NAME the whole server in one process (`services all`, as `start
 * --single-process` runs it), and waits for its "listening" (or "towel started") line.
 */
export async function startService(name: Runnable, options: ServiceOptions, extra: Record<string, string> = {}): Promise<RunningService> {
  const nodeArgs = [
    ...NODE_OPTIONS[name], // as the CLI and compose.yml run it
    // one folder per service: the data graph's workers inherit the options and write a profile each (Node names them)
    ...(options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${join(options.cpuProfileDir, name)}`] : []),
  ];
  const child = new ManagedProcess({
    command: process.execPath,
    args: [...nodeArgs, CLI, "services", name],
    env: serviceEnv(options, extra),
    cwd: REPO,
    logFile: join(options.logDir, `${name}.log`),
    label: `service ${name}`,
  });
  try {
    const port = await child.waitForLine(listeningLine(LISTENING[name]), START_TIMEOUT_MS, `"${LISTENING[name]}" line`);
    return { name, process: child, origin: name === "towel" ? undefined : `http://127.0.0.1:${port}` };
  } catch (error) {
    await child.stop("SIGKILL", 1_000);
    throw error;
  }
}

/** Stops services with SIGTERM (SIGKILL after 20 s), in the order given. */
export async function stopServices(services: RunningService[]): Promise<void> {
  for (const service of services) await service.process.stop("SIGTERM", 20_000).catch(() => {});
}

interface ApiServices {
  /** POST URLs */
  urls: { postgraphile: string; mutations: string; gateway: string };
  all: RunningService[];
}

/**
 * The API in v1's topology: postgraphile and mutations, and the gateway composing them over HTTP (distributed
 * mode, the default), ready to serve.
 */
export async function startApi(options: ServiceOptions): Promise<ApiServices> {
  const started: RunningService[] = [];
  try {
    const [postgraphile, mutations] = await Promise.all([
      startService("postgraphile", options, { PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0" }).then((s) => (started.push(s), s)),
      startService("mutations", options, { PREFECT_SERVER__SERVICES__MUTATIONS__PORT: "0" }).then((s) => (started.push(s), s)),
    ]);
    const urls = {
      postgraphile: `${postgraphile.origin}/graphql`,
      mutations: `${mutations.origin}/graphql/`,
      gateway: "",
    };
    const gateway = await startService("gateway", options, {
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: "0",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL: urls.postgraphile,
      PREFECT_SERVER__SERVICES__MUTATIONS__URL: urls.mutations,
    });
    started.push(gateway);
    urls.gateway = `${gateway.origin}/`;
    await waitUntilReady(gateway);
    return { urls, all: [gateway, mutations, postgraphile] };
  } catch (error) {
    await stopServices(started);
    throw error;
  }
}

/** The whole server in one process, its gateway on a free port, ready to serve. */
export async function startSingleProcess(options: ServiceOptions): Promise<RunningService> {
  const server = await startService(SINGLE_PROCESS_NAME, options, { PREFECT_SERVER__SERVICES__GATEWAY__PORT: "0" });
  try {
    await waitUntilReady(server);
    return server;
  } catch (error) {
    await stopServices([server]);
    throw error;
  }
}

async function waitUntilReady(gateway: RunningService): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!gateway.process.running) throw new Error(`the gateway exited before it was ready:\n${gateway.process.tail()}`);
    try {
      const response = await fetch(`${gateway.origin}/ready`, { signal: AbortSignal.timeout(5_000) });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`the gateway was not ready within ${START_TIMEOUT_MS / 1000} s (last: ${last})`);
}

/** One GraphQL POST (for checks before a load run); throws on HTTP or GraphQL errors. */
export async function graphql<T = Record<string, unknown>>(url: string, body: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
    signal: AbortSignal.timeout(60_000),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as { data?: T; errors?: unknown[] };
  if (response.status !== 200 || parsed.errors) throw new Error(`GraphQL request to ${url} failed (HTTP ${response.status}): ${text.slice(0, 1000)}`);
  return parsed.data!;
}
