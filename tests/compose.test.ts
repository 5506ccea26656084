/* eslint-disable @typescript-eslint/no-explicit-any -- the test reads the parsed compose file key by key */
// compose.yml as Debian's docker-compose reads it (`docker-compose config` parses and resolves it without a Docker
// engine): the whole stack, Postgres 17 with a healthcheck, and the Prefect UI pointed at the gateway; and
// compose.dev.yml, the development Postgres and Redis of `dev infrastructure`. Skipped, with the reason, where
// docker-compose is not on PATH (.ci/run installs it when it can).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import { parse } from "yaml";
import { SERVICE_NAMES, SERVICE_NODE_OPTIONS } from "../services/cli/src/registry.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

/** The passwords compose.yml takes from the environment (as a user's `.env` would hold them). */
const SECRETS = { POSTGRES_PASSWORD: "pg-5ecret-from-env", REDIS_PASSWORD: "redis-5ecret-from-env" };

/** `docker-compose -f <file> config`: exit status, output; null when there is no docker-compose on PATH. */
async function composeConfig(extraEnv: Record<string, string> = SECRETS, file = "compose.yml"): Promise<{ code: number; stdout: string; stderr: string } | null> {
  // Only PATH and HOME: no COMPOSE_* or compose.yml variables (ports, tags, URLs) from the caller's environment.
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8", ...extraEnv };
  try {
    const { stdout, stderr } = await run("docker-compose", ["-f", file, "config"], { cwd: REPO, env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === "ENOENT") return null;
    return { code: typeof failure.code === "number" ? failure.code : -1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? String(error) };
  }
}

let result: Awaited<ReturnType<typeof composeConfig>>;
let withoutSecrets: Awaited<ReturnType<typeof composeConfig>>;
let development: Awaited<ReturnType<typeof composeConfig>>;
beforeAll(async () => {
  result = await composeConfig();
  withoutSecrets = await composeConfig({});
  development = await composeConfig({}, "compose.dev.yml");
});

test("docker-compose config accepts compose.yml: the whole stack, Postgres 17, the UI on the gateway", (context) => {
  context.skip(result === null, "docker-compose is not on PATH (Debian's docker-compose package provides it)");
  const { code, stdout, stderr } = result!;
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const services: Record<string, any> = parse(stdout).services;
  expect(Object.keys(services).sort()).toEqual(["gateway", "migrate", "mutations", "postgraphile", "postgres", "redis", "towel", "ui"]);

  expect(services.postgres.image).toBe("postgres:17");
  expect(services.postgres.healthcheck.test.join(" ")).toMatch(/pg_isready/);

  const published = (service: any, target: number) =>
    (service.ports ?? []).filter((port: any) => Number(port.target) === target).map((port: any) => Number(port.published));
  expect(services.ui.image).toMatch(/^prefecthq\/ui(:|$)/);
  expect(published(services.ui, 8080)).toEqual([8080]);
  // The UI runs in the browser: its API URL is the gateway's published port on the host, at /graphql.
  const apollo = new URL(services.ui.environment.PREFECT_SERVER__APOLLO_URL);
  expect(Number(apollo.port)).toBe(published(services.gateway, 4200)[0]);
  expect(apollo.pathname).toBe("/graphql");
  expect(services.ui.depends_on.gateway).toEqual({ condition: "service_healthy" });

  // each service with the Node options the CLI gives it, and the shared settings
  for (const name of SERVICE_NAMES) {
    expect(services[name].environment.NODE_OPTIONS ?? "").toBe(SERVICE_NODE_OPTIONS[name].join(" "));
    expect(services[name].environment.DATABASE_URL).toMatch(/^postgresql:\/\/.*@postgres:5432\//);
  }
});

test("only the gateway and the UI are published; the passwords come from the environment", (context) => {
  context.skip(result === null, "docker-compose is not on PATH (Debian's docker-compose package provides it)");
  const services: Record<string, any> = parse(result!.stdout).services;
  const published = Object.fromEntries(
    Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port: any) => [name, Number(port.target)])),
  );
  expect(published).toEqual({ gateway: 4200, ui: 8080 });
  expect(new URL(services.gateway.environment.DATABASE_URL).password).toBe(SECRETS.POSTGRES_PASSWORD);
  expect(services.postgres.environment.POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
  expect(new URL(services.gateway.environment.REDIS_URL).password).toBe(SECRETS.REDIS_PASSWORD);
  expect(services.redis.command).toEqual(expect.arrayContaining(["--requirepass", SECRETS.REDIS_PASSWORD]));
  // persistence on a volume (docs/operations.md, "Redis persistence")
  expect(services.redis.command.join(" ")).toContain("--appendonly yes --appendfsync everysec --maxmemory-policy noeviction");
  expect(services.redis.volumes.map((volume: any) => (typeof volume === "string" ? volume : `${volume.source}:${volume.target}`).replace(/:rw$/, ""))).toEqual(["redis-data:/data"]);
  // the subgraphs listen on the compose network (the gateway reaches them there), never on a published port
  for (const name of ["postgraphile", "mutations"]) expect(services[name].environment[`PREFECT_SERVER__SERVICES__${name.toUpperCase()}__HOST`]).toBe("0.0.0.0");
  // every service gets the auth string, so that the subgraphs require the gateway's secret whenever it is set
  for (const name of SERVICE_NAMES) expect(services[name].environment).toHaveProperty("PREFECT_SERVER_API_AUTH_STRING");
});

test("without the passwords compose refuses to start, saying which one and where to look", (context) => {
  context.skip(withoutSecrets === null, "docker-compose is not on PATH (Debian's docker-compose package provides it)");
  expect(withoutSecrets!.code).not.toBe(0);
  expect(withoutSecrets!.stderr).toMatch(/set (POSTGRES|REDIS)_PASSWORD \(see the top of compose\.yml\)/);
});

test("compose.dev.yml: Postgres and Redis for development, on loopback only, needing no secrets", (context) => {
  context.skip(development === null, "docker-compose is not on PATH (Debian's docker-compose package provides it)");
  expect(development!.code, development!.stderr).toBe(0);
  const services: Record<string, any> = parse(development!.stdout).services;
  expect(Object.keys(services).sort()).toEqual(["postgres", "redis"]);
  // docker-compose writes a port with a host address in the short form
  expect(Object.values(services).flatMap((service) => service.ports)).toEqual(["127.0.0.1:5432:5432/tcp", "127.0.0.1:6379:6379/tcp"]);
  // the credentials `dev infrastructure` connects with (services/cli/src/infrastructure/postgres.ts)
  expect(services.postgres.environment).toEqual({ POSTGRES_USER: "prefect", POSTGRES_PASSWORD: "pr343ct", POSTGRES_DB: "prefect_server" });
});
