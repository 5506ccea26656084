// The whole server for one test file, started through the real CLI: `node bin/prefect-server.js services <name>`
// for postgraphile, mutations, gateway and towel, each a child process on a free port (port 0: the service logs
// the port it bound, and the harness reads it from that line, so there is no race for ports). The gateway composes
// the other two over HTTP (distributed mode, v1's topology) unless `gatewayMode` says in_process; `single_process`
// runs `services all` instead, every service in one process (what `start --single-process` runs).
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ManagedProcess } from "./processes.ts";

const REPO = resolve(fileURLToPath(import.meta.url), "../../../..");
const CLI = join(REPO, "bin", "prefect-server.js");
const START_TIMEOUT_MS = 90_000;

export type ServiceName = "postgraphile" | "mutations" | "gateway" | "towel" | "all";

export interface ServerOptions {
  databaseUrl: string;
  redisUrl: string;
  /** queue.prefix: this file's Redis keys */
  queuePrefix: string;
  /** where the services' logs go */
  workDir: string;
  gatewayMode?: "distributed" | "in_process" | "single_process";
  /** services.gateway.auth_string (user:password) */
  authString?: string;
  /** extra PREFECT_SERVER__… settings for every service */
  env?: Record<string, string>;
}

export interface RunningServer {
  /** the gateway, e.g. http://127.0.0.1:43817 */
  url: string;
  services: Partial<Record<ServiceName, ManagedProcess>>;
  /** Stops every service with SIGTERM (towel, then the gateway, then mutations and postgraphile); fails if one had to be killed. */
  stop(): Promise<void>;
}

/** The environment of a service: nothing from the outer PREFECT_SERVER settings, this file's database and queues. */
function serviceEnv(options: ServerOptions, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(PREFECT|DATABASE_URL$|REDIS_URL$|APOLLO_API_)/i.test(key)) continue;
    env[key] = value;
  }
  return {
    ...env,
    // no user config file: the settings are exactly these
    PREFECT_SERVER__USER_CONFIG_PATH: join(options.workDir, "no-user-config.toml"),
    DATABASE_URL: options.databaseUrl,
    PREFECT_SERVER__DATABASE__POOL_SIZE: "4",
    REDIS_URL: options.redisUrl,
    PREFECT_SERVER__QUEUE__PREFIX: options.queuePrefix,
    PREFECT_SERVER__SERVICES__HOST: "127.0.0.1",
    PREFECT_SERVER__LOGGING__LEVEL: "info",
    PREFECT_SERVER__LOGGING__PRETTY: "false",
    ...options.env,
    ...extra,
  };
}

function startService(name: ServiceName, options: ServerOptions, extra: Record<string, string>): ManagedProcess {
  return new ManagedProcess({
    command: process.execPath,
    args: [CLI, "services", name],
    env: serviceEnv(options, extra),
    cwd: REPO,
    logFile: join(options.workDir, `${name}.log`),
    label: `service ${name}`,
  });
}

/** A service's JSON log line saying it listens: its port. */
function listeningPort(message: string) {
  return (line: string): number | undefined => {
    try {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      return entry.msg === message && typeof entry.port === "number" ? entry.port : undefined;
    } catch {
      return undefined;
    }
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const services: Partial<Record<ServiceName, ManagedProcess>> = {};
  const stop = async () => {
    const failures: string[] = [];
    // towel first (no new passes), then the gateway (no new requests), then the subgraphs
    for (const name of ["all", "towel", "gateway", "mutations", "postgraphile"] as const) {
      try {
        await services[name]?.stop("SIGTERM", 20_000, true);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    if (failures.length) throw new Error(failures.join("\n\n"));
  };
  try {
    const mode = options.gatewayMode ?? "distributed";
    const gatewayEnv: Record<string, string> = {
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: "0",
      PREFECT_SERVER__SERVICES__GATEWAY__AUTH_STRING: options.authString ?? "",
    };
    if (mode === "single_process") {
      services.all = startService("all", options, { ...gatewayEnv, PREFECT__LOOP_SERVICE__DEBUG_MODE: "1" });
      const port = await services.all.waitForLine(listeningPort("gateway listening"), START_TIMEOUT_MS, "listening line");
      const url = `http://127.0.0.1:${port}`;
      await waitUntilReady(url, services.all, options.authString);
      return { url, services, stop };
    }
    gatewayEnv.PREFECT_SERVER__SERVICES__GATEWAY__MODE = mode;
    if (mode === "distributed") {
      services.postgraphile = startService("postgraphile", options, { PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0" });
      services.mutations = startService("mutations", options, { PREFECT_SERVER__SERVICES__MUTATIONS__PORT: "0" });
      const [dataGraphPort, mutationsPort] = await Promise.all([
        services.postgraphile.waitForLine(listeningPort("data graph listening"), START_TIMEOUT_MS, "listening line"),
        services.mutations.waitForLine(listeningPort("mutations service listening"), START_TIMEOUT_MS, "listening line"),
      ]);
      gatewayEnv.PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL = `http://127.0.0.1:${dataGraphPort}/graphql`;
      gatewayEnv.PREFECT_SERVER__SERVICES__MUTATIONS__URL = `http://127.0.0.1:${mutationsPort}/graphql/`;
      // 0 turns the gateway's polling off: it composes the subgraph schemas once at start, and they do not change
      // during a test
      gatewayEnv.PREFECT_SERVER__SERVICES__GATEWAY__POLL_INTERVAL_SECONDS = "0";
    }
    services.gateway = startService("gateway", options, gatewayEnv);
    // its metrics listener on a free port too (several test files run at once)
    services.towel = startService("towel", options, { PREFECT__LOOP_SERVICE__DEBUG_MODE: "1", PREFECT_SERVER__SERVICES__TOWEL__METRICS_PORT: "0" });
    const gatewayPort = await services.gateway.waitForLine(listeningPort("gateway listening"), START_TIMEOUT_MS, "listening line");
    await services.towel.waitForLine(
      (line) => (line.includes('"msg":"towel started"') ? true : undefined),
      START_TIMEOUT_MS,
      '"towel started" line',
    );
    const url = `http://127.0.0.1:${gatewayPort}`;
    await waitUntilReady(url, services.gateway, options.authString);
    return { url, services, stop };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** Polls GET /ready until the gateway has composed its subgraphs and reaches the database. */
async function waitUntilReady(url: string, gateway: ManagedProcess, authString?: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  const headers: Record<string, string> = authString ? { authorization: `Basic ${Buffer.from(authString).toString("base64")}` } : {};
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!gateway.running) throw new Error(`the gateway exited before it was ready. Last output:\n${gateway.tail()}`);
    try {
      const response = await fetch(`${url}/ready`, { headers, signal: AbortSignal.timeout(5_000) });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`the gateway at ${url} was not ready within ${START_TIMEOUT_MS / 1000} s (last: ${last}).\n${gateway.tail()}`);
}
