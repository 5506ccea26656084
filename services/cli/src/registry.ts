// The service registry: which services exist, their v1 names, and where each one's code lives.
//
// Every service is a module exporting `start(config, log)`, which starts it and resolves to a handle whose
// `stop()` shuts it down gracefully. A service counts as available once its module file exists, so the CLI
// works before all of them are built.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Config } from "../../shared/src/config.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { CliError } from "./common.ts";

export const SERVICE_NAMES = ["postgraphile", "mutations", "gateway", "towel"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** v1's names for the services that replace its Hasura, Python GraphQL server and Apollo gateway. */
export const SERVICE_ALIASES: Record<string, ServiceName> = {
  hasura: "postgraphile",
  graphql: "mutations",
  apollo: "gateway",
};

/**
 * Node options each service runs with where this project starts it (the CLI's `start` and `dev services`,
 * compose.yml, the bench); set them yourself (NODE_OPTIONS) when you run `services <name>` another way. The
 * gateway's young generation is capped at 8 MB per semi-space (half V8's default): it grows to the cap while the
 * gateway composes and under load, and the smaller cap keeps resident memory down at no cost in throughput
 * (docs/benchmarks.md, "Gateway memory").
 */
export const SERVICE_NODE_OPTIONS: Readonly<Record<ServiceName, readonly string[]>> = {
  postgraphile: [],
  mutations: [],
  gateway: ["--max-semi-space-size=8"],
  towel: [],
};

/** The single-process server's Node options: the gateway's, whose request handling dominates that process. */
export const SINGLE_PROCESS_NODE_OPTIONS: readonly string[] = SERVICE_NODE_OPTIONS.gateway;

export interface RunningService {
  stop(): Promise<void>;
}

export type StartService = (config: Config, log: Logger) => Promise<RunningService>;

/**
 * The folder holding one folder per service. PREFECT_SERVER_SERVICES_ROOT points it elsewhere (the CLI tests use
 * it to run fake services).
 */
function servicesRoot(): string {
  return process.env.PREFECT_SERVER_SERVICES_ROOT || fileURLToPath(new URL("../..", import.meta.url));
}

/** The service's entry module: built (index.js, when the CLI runs from dist/) or its source (index.ts). */
export function serviceModule(name: ServiceName): string {
  const built = join(servicesRoot(), name, "src", "index.js");
  return existsSync(built) ? built : join(servicesRoot(), name, "src", "index.ts");
}

export function isAvailable(name: ServiceName): boolean {
  return existsSync(serviceModule(name));
}

/** The service a name or v1 alias stands for; anything else is an error listing the valid names. */
export function resolveServiceName(name: string): ServiceName {
  const lowered = name.trim().toLowerCase();
  const resolved = (SERVICE_NAMES as readonly string[]).includes(lowered)
    ? (lowered as ServiceName)
    : SERVICE_ALIASES[lowered];
  if (resolved) return resolved;
  const aliases = Object.entries(SERVICE_ALIASES).map(([alias, target]) => `${alias} = ${target}`);
  throw new CliError(`Unknown service "${name}". Valid names: ${SERVICE_NAMES.join(", ")} (v1 names: ${aliases.join(", ")}).`);
}

/**
 * The services `-i/--include` and `-e/--exclude` select, in registry order: all of them unless include names
 * some, minus the excluded ones.
 */
export function selectServices(include: string[] = [], exclude: string[] = []): ServiceName[] {
  const included = new Set(include.map(resolveServiceName));
  const excluded = new Set(exclude.map(resolveServiceName));
  return SERVICE_NAMES.filter((name) => (included.size === 0 || included.has(name)) && !excluded.has(name));
}

/**
 * Grafast (the data graph's engine, in the postgraphile service and the in-process gateway) prints a plain-text
 * notice on stderr when neither GRAPHILE_ENV nor NODE_ENV names a mode, then runs in production mode. A service's
 * output is JSON log lines only, so the CLI names that mode itself; either variable set chooses as before.
 */
export function defaultGraphileEnv(): void {
  if (process.env.GRAPHILE_ENV === undefined && process.env.NODE_ENV === undefined) process.env.GRAPHILE_ENV = "production";
}

/** Loads a service's start function; a service whose module does not exist yet is an error. */
export async function loadService(name: ServiceName): Promise<StartService> {
  if (!isAvailable(name)) throw new CliError(`service ${name} is not available yet`);
  defaultGraphileEnv();
  const module = (await import(pathToFileURL(serviceModule(name)).href)) as { start?: unknown };
  if (typeof module.start !== "function") {
    throw new CliError(`service ${name} does not export a start(config, log) function (${serviceModule(name)})`);
  }
  return module.start as StartService;
}
