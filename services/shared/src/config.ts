// The one typed configuration module every service and the CLI read.
//
// Sources, lowest to highest precedence (as in v1):
//   1. the defaults below,
//   2. the user config file (TOML, `user_config_path`, default ~/.prefect_server/config.toml),
//   3. environment variables `PREFECT_SERVER__<SECTION>__<KEY>` (double underscores for nesting, keys
//      case-insensitive), plus the shorthands listed in ENV_SHORTHANDS (DATABASE_URL, REDIS_URL, ...).
// Everything is validated once; a bad value fails start-up with a message naming where it came from.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { PROJECT_ROOT } from "./paths.ts";

const ENV_PREFIX = "PREFECT_SERVER__";
const LOOPBACK = "127.0.0.1";
/** Where the CLI keeps local state (the embedded Postgres data) unless `home` says otherwise: <repo>/.prefect-server. */
const DEFAULT_HOME = join(PROJECT_ROOT, ".prefect-server");

const boolish = z.preprocess((value) => {
  if (typeof value !== "string") return value;
  const lowered = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(lowered)) return true;
  if (["false", "0", "no", "off", ""].includes(lowered)) return false;
  return value;
}, z.boolean({ error: "expected true or false" }));

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: "expected a whole number" })
    .int({ error: "expected a whole number" })
    .min(min, { error: `expected a number >= ${min}` })
    .max(max, { error: `expected a number <= ${max}` });

const port = integer(0, 65535);
const text = z.coerce.string();
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}` },
  );
const byteSize = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const parsed = parseByteSize(value);
    if (parsed === undefined) {
      ctx.addIssue({ code: "custom", message: 'expected a size such as 5mb, 512kb or 1048576' });
      return z.NEVER;
    }
    return parsed;
  });
const logLevel = z.preprocess(
  (value) => (typeof value === "string" ? value.toLowerCase() : value),
  z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"], {
    error: "expected one of trace, debug, info, warn, error, fatal, silent",
  }),
);

const serviceSchema = (defaultPort: number) =>
  z.object({
    host: text.optional(),
    port: port.default(defaultPort),
    /** Where other services reach this one; derived from port (and path) when unset. */
    url: url(["http:", "https:"]).optional(),
  });

const configSchema = z.object({
  user_config_path: text.default("~/.prefect_server/config.toml"),
  home: text.default(DEFAULT_HOME),
  core_version_cutoff: text.default("0.6.1"),
  queued_runs_returned_limit: integer(1).default(25),
  artifacts_max_payload_bytes: integer(1).default(1_000_000),
  api: z.object({ url: text.default("http://localhost:4200") }).prefault({}),
  database: z
    .object({
      connection_url: url(["postgres:", "postgresql:"]).optional(),
      host: text.default("localhost"),
      port: port.default(5432),
      name: text.default("prefect_server"),
      username: text.default("prefect"),
      password: text.default("pr343ct"),
      pool_size: integer(1, 1000).default(10),
    })
    .prefault({}),
  redis: z
    .object({ url: z.union([z.literal(""), url(["redis:", "rediss:"])]).default("redis://localhost:6379") })
    .prefault({}),
  queue: z
    .object({
      backend: z.enum(["redis", "postgres"], { error: "expected redis or postgres" }).default("redis"),
      prefix: text.default("prefect-server"),
    })
    .prefault({}),
  logging: z.object({ level: logLevel.default("info"), pretty: boolish.default(false) }).prefault({}),
  services: z
    .object({
      host: text.default("0.0.0.0"),
      /** How long a service may take to stop on SIGTERM before it exits anyway. */
      stop_timeout_seconds: integer(1).default(15),
      /** Most open HTTP connections per service process; one more is answered 503 (0: no cap). */
      max_connections: integer(0).default(1024),
      /** Prometheus metrics on GET /metrics of every service (docs/operations.md, "Metrics"). */
      metrics: z.object({ enabled: boolish.default(true) }).prefault({}),
      postgraphile: serviceSchema(3000)
        .extend({
          enable_table_mutations: boolish.default(false),
          /** Processes serving the data graph on its port (one Node process uses one core). */
          workers: integer(1, 64).default(2),
          /** Longest a data-graph SQL statement may run before Postgres cancels it; 0 means no limit. */
          statement_timeout_seconds: integer(0, 86_400).default(5),
          /** Most rows any list of the data graph returns (Hasura's per-role row limit); 0 means no cap. */
          max_rows: integer(0).default(10_000),
        })
        .prefault({}),
      mutations: serviceSchema(4201)
        .extend({
          path: text.default("/graphql/"),
          /** A state write equal to the run's current state written this recently is a resend (0: never). */
          resent_state_window_seconds: integer(0, 3_600).default(120),
        })
        .prefault({}),
      gateway: serviceSchema(4200)
        .extend({
          body_limit: byteSize.default(5 * 1024 * 1024),
          /** Document limits (services/gateway/src/limits.ts; docs/security.md). */
          depth_limit: integer(1).default(7),
          max_aliases: integer(0).default(100),
          max_root_fields: integer(1).default(100),
          max_tokens: integer(100).default(20_000),
          /** Deepest bracket nesting of a document, and deepest object/array nesting of a request body. */
          max_nesting: integer(10, 1000).default(100),
          /** Most rows an operation may be estimated to return (lists multiplied through their nesting). */
          max_cost: integer(1).default(1_000_000),
          /** Most operations in one batched request (the UI batches up to 25). */
          max_batch_size: integer(1).default(50),
          request_timeout_seconds: integer(1).default(60),
          enable_playground: boolish.default(true),
          enable_introspection: boolish.default(true),
          auth_string: text.default(""),
          /** distributed: compose the subgraphs over HTTP; in_process: run both subgraphs inside the gateway. */
          mode: z
            .enum(["distributed", "in_process"], { error: "expected distributed or in_process" })
            .default("distributed"),
          /** How often (distributed mode) the gateway re-reads the subgraphs' SDL and recomposes; 0 turns it off. */
          poll_interval_seconds: integer(0).default(10),
          /** Forward single-subgraph operations without the query planner. */
          fast_path: boolish.default(true),
        })
        .prefault({}),
      towel: z
        .object({
          max_scheduled_runs_per_flow: integer(1).default(10),
          debug_mode: boolish.default(false),
          scheduler_interval_seconds: integer(1).default(150),
          lazarus_interval_seconds: integer(1).default(600),
          zombie_killer_interval_seconds: integer(1).default(120),
          /** Retention (docs/operations.md): finished flow runs older than this many days are deleted; 0 keeps them. */
          retention_flow_runs_days: integer(0, 36_500).default(0),
          /** Logs older than this many days are deleted, whatever their run; 0 keeps them. */
          retention_logs_days: integer(0, 36_500).default(0),
          retention_interval_seconds: integer(1).default(3600),
          /** Where the towel serves GET /metrics and /health (only while services.metrics.enabled). */
          metrics_host: text.default(LOOPBACK),
          metrics_port: port.default(4202),
        })
        .prefault({}),
      lazarus: z.object({ resurrection_attempt_limit: integer(0).default(3) }).prefault({}),
    })
    .prefault({}),
});

type ParsedConfig = z.infer<typeof configSchema>;
type ServiceAddress = { host: string; port: number; url: string };

/** The validated configuration, with derived values filled in. */
export type Config = Omit<ParsedConfig, "database" | "services"> & {
  database: ParsedConfig["database"] & { connection_url: string };
  services: ParsedConfig["services"] & {
    postgraphile: ParsedConfig["services"]["postgraphile"] & ServiceAddress;
    mutations: ParsedConfig["services"]["mutations"] & ServiceAddress;
    gateway: ParsedConfig["services"]["gateway"] & ServiceAddress;
  };
};

/**
 * Environment variables that do not follow the PREFECT_SERVER__ scheme but set a config key: the usual
 * twelve-factor names, v1's own names (apollo = gateway, graphql = mutations, hasura = postgraphile) and the
 * auth string of the self-hosting guides.
 */
const ENV_SHORTHANDS: Record<string, string[]> = {
  DATABASE_URL: ["database", "connection_url"],
  REDIS_URL: ["redis", "url"],
  PREFECT_SERVER_API_AUTH_STRING: ["services", "gateway", "auth_string"],
  PREFECT__LOOP_SERVICE__DEBUG_MODE: ["services", "towel", "debug_mode"],
  APOLLO_API_PORT: ["services", "gateway", "port"],
  APOLLO_API_BIND_ADDRESS: ["services", "gateway", "host"],
  APOLLO_API_BODY_LIMIT: ["services", "gateway", "body_limit"],
  APOLLO_API_ENABLE_PLAYGROUND: ["services", "gateway", "enable_playground"],
};

/** v1 section names accepted in env vars and the user file, mapped to ours. */
const SECTION_ALIASES: Record<string, string[]> = {
  "services.apollo": ["services", "gateway"],
  "services.graphql": ["services", "mutations"],
  hasura: ["services", "postgraphile"],
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Tree = { [key: string]: unknown };

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Skip the user config file (tests). */
  ignoreUserFile?: boolean;
}

/** Reads, merges and validates the configuration. Throws ConfigError naming every bad setting. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const raw: Tree = {};
  const origins = new Map<string, string>();

  const fromEnv = collectEnv(env);
  const userConfigPath = expandHome(
    (fromEnv.find(({ path }) => path.join(".") === "user_config_path")?.value as string | undefined) ??
      "~/.prefect_server/config.toml",
  );
  if (!options.ignoreUserFile && existsSync(userConfigPath)) {
    let fileTree: Tree;
    try {
      fileTree = parseToml(readFileSync(userConfigPath, "utf8")) as Tree;
    } catch (error) {
      throw new ConfigError(`Invalid configuration file ${userConfigPath}: ${(error as Error).message}`);
    }
    for (const { path, value } of flatten(fileTree)) {
      assign(raw, origins, normalisePath(path), value, `${userConfigPath} (${path.join(".")})`);
    }
  }
  for (const { path, value, origin } of fromEnv) assign(raw, origins, path, value, origin);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const key = issue.path.join(".");
      const origin = origins.get(key) ?? `${ENV_PREFIX}${issue.path.map(String).join("__").toUpperCase()}`;
      const received = getPath(raw, issue.path.map(String));
      return `  ${origin}: ${issue.message}${received === undefined ? "" : ` (got ${JSON.stringify(received)})`}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return withDerivedValues(result.data);
}

function withDerivedValues(parsed: ParsedConfig): Config {
  const { database, services } = parsed;
  const connection_url =
    database.connection_url ??
    `postgresql://${encodeURIComponent(database.username)}:${encodeURIComponent(database.password)}@${database.host}:${database.port}/${encodeURIComponent(database.name)}`;
  // The gateway listens where services.host says (v1's setting, all interfaces by default); the subgraphs, which
  // only the gateway calls, on loopback unless their own host is set (docs/security.md, "One door").
  const addressed = <T extends { host?: string; port: number; url?: string }>(service: T, path: string, defaultHost: string) => ({
    ...service,
    host: service.host ?? defaultHost,
    url: service.url ?? `http://${defaultHost === LOOPBACK ? LOOPBACK : "localhost"}:${service.port}${path}`,
  });
  return {
    ...parsed,
    home: expandHome(parsed.home),
    database: { ...database, connection_url },
    services: {
      ...services,
      postgraphile: addressed(services.postgraphile, "/graphql", LOOPBACK),
      mutations: addressed(services.mutations, services.mutations.path, LOOPBACK),
      gateway: addressed(services.gateway, "/graphql", services.host),
    },
  };
}

function collectEnv(env: NodeJS.ProcessEnv): { path: string[]; value: string; origin: string }[] {
  const entries: { path: string[]; value: string; origin: string }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const shorthand = ENV_SHORTHANDS[name];
    if (shorthand) entries.push({ path: shorthand, value, origin: name });
  }
  // Scheme variables come last so they win over shorthands for the same key.
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.toUpperCase().startsWith(ENV_PREFIX)) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split("__").filter(Boolean);
    entries.push({ path: normalisePath(path), value, origin: name });
  }
  return entries;
}

function normalisePath(path: string[]): string[] {
  for (const [alias, target] of Object.entries(SECTION_ALIASES)) {
    const aliasPath = alias.split(".");
    if (aliasPath.every((part, index) => path[index] === part)) return [...target, ...path.slice(aliasPath.length)];
  }
  return path;
}

function flatten(tree: Tree, prefix: string[] = []): { path: string[]; value: unknown }[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? flatten(value as Tree, [...prefix, key.toLowerCase()])
      : [{ path: [...prefix, key.toLowerCase()], value }],
  );
}

function assign(tree: Tree, origins: Map<string, string>, path: string[], value: unknown, origin: string): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
  origins.set(path.join("."), origin);
}

function getPath(tree: Tree, path: string[]): unknown {
  let node: unknown = tree;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

function expandHome(path: string): string {
  return path.startsWith("~/") ? `${homedir()}${path.slice(1)}` : path;
}

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** Parses body-parser style sizes ("5mb", "512kb", 1048576). */
export function parseByteSize(value: number | string): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(value);
  if (!match) return undefined;
  return Math.floor(Number(match[1]) * BYTE_UNITS[(match[2] ?? "b").toLowerCase()]!);
}

let cached: Config | undefined;

/** The process-wide configuration, loaded on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
