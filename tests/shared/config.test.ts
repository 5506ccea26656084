import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseByteSize } from "../../services/shared/src/config.ts";

const load = (env: Record<string, string> = {}) => loadConfig({ env, ignoreUserFile: true });

describe("configuration", () => {
  it("has v1's defaults", () => {
    const config = load();
    expect(config.database.connection_url).toBe("postgresql://prefect:pr343ct@localhost:5432/prefect_server");
    expect(config.services.gateway).toMatchObject({ host: "0.0.0.0", port: 4200, depth_limit: 7, body_limit: 5 * 1024 * 1024 });
    // the subgraphs, which only the gateway calls, listen on loopback unless told otherwise
    expect(config.services.mutations).toMatchObject({ host: "127.0.0.1", port: 4201, path: "/graphql/", url: "http://127.0.0.1:4201/graphql/" });
    expect(config.services.postgraphile).toMatchObject({ host: "127.0.0.1", port: 3000, url: "http://127.0.0.1:3000/graphql", workers: 2 });
    expect(config.services.towel.max_scheduled_runs_per_flow).toBe(10);
    expect(config.services.lazarus.resurrection_attempt_limit).toBe(3);
    expect(config.queued_runs_returned_limit).toBe(25);
    expect(config.core_version_cutoff).toBe("0.6.1");
    expect(config.redis.url).toBe("redis://localhost:6379");
  });

  it("reads PREFECT_SERVER__SECTION__KEY variables with coercion, case-insensitively", () => {
    const config = load({
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: "4300",
      prefect_server__services__towel__debug_mode: "TRUE",
      PREFECT_SERVER__DATABASE__HOST: "db.internal",
      PREFECT_SERVER__SERVICES__GATEWAY__BODY_LIMIT: "1mb",
    });
    expect(config.services.gateway.port).toBe(4300);
    expect(config.services.towel.debug_mode).toBe(true);
    expect(config.database.connection_url).toBe("postgresql://prefect:pr343ct@db.internal:5432/prefect_server");
    expect(config.services.gateway.body_limit).toBe(1024 * 1024);
  });

  it("accepts v1's section names and the shorthand variables", () => {
    const config = load({
      PREFECT_SERVER__SERVICES__APOLLO__PORT: "4400",
      PREFECT_SERVER__SERVICES__GRAPHQL__PORT: "4401",
      PREFECT_SERVER__HASURA__PORT: "3001",
      DATABASE_URL: "postgresql://u@h:1/d",
      REDIS_URL: "redis://r:1",
      PREFECT_SERVER_API_AUTH_STRING: "admin:secret",
      PREFECT__LOOP_SERVICE__DEBUG_MODE: "true",
    });
    expect(config.services.gateway.port).toBe(4400);
    expect(config.services.mutations.port).toBe(4401);
    expect(config.services.postgraphile.port).toBe(3001);
    expect(config.database.connection_url).toBe("postgresql://u@h:1/d");
    expect(config.redis.url).toBe("redis://r:1");
    expect(config.services.gateway.auth_string).toBe("admin:secret");
    expect(config.services.towel.debug_mode).toBe(true);
  });

  it("lets the scheme variable win over its shorthand", () => {
    const config = load({ DATABASE_URL: "postgresql://a@h/a", PREFECT_SERVER__DATABASE__CONNECTION_URL: "postgresql://b@h/b" });
    expect(config.database.connection_url).toBe("postgresql://b@h/b");
  });

  it("rejects bad values with a message naming the variable", () => {
    expect(() => load({ PREFECT_SERVER__SERVICES__GATEWAY__PORT: "abc" })).toThrow(ConfigError);
    expect(() => load({ PREFECT_SERVER__SERVICES__GATEWAY__PORT: "abc" })).toThrow(
      /PREFECT_SERVER__SERVICES__GATEWAY__PORT: expected a whole number \(got "abc"\)/,
    );
    expect(() => load({ DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL: expected a URL starting with postgres/);
    expect(() => load({ PREFECT_SERVER__LOGGING__LEVEL: "loud" })).toThrow(/PREFECT_SERVER__LOGGING__LEVEL/);
    expect(() => load({ PREFECT_SERVER__SERVICES__TOWEL__DEBUG_MODE: "maybe" })).toThrow(/expected true or false/);
    expect(() => load({ PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "0" })).toThrow(
      /PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: expected a number >= 1 \(got "0"\)/,
    );
  });

  it("reads the user config file between defaults and the environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "prefect-config-"));
    const file = join(dir, "config.toml");
    writeFileSync(file, '[services.apollo]\nport = 4500\n[logging]\nlevel = "warn"\n');
    const env = { PREFECT_SERVER__USER_CONFIG_PATH: file, PREFECT_SERVER__LOGGING__LEVEL: "error" };
    const config = loadConfig({ env });
    expect(config.services.gateway.port).toBe(4500);
    expect(config.logging.level).toBe("error");
    writeFileSync(file, "[services.apollo]\nport = -1\n");
    expect(() => loadConfig({ env })).toThrow(new RegExp(`${file} \\(services.apollo.port\\)`));
  });

  it("parses body sizes like body-parser", () => {
    expect(parseByteSize("5mb")).toBe(5 * 1024 * 1024);
    expect(parseByteSize("512KB")).toBe(512 * 1024);
    expect(parseByteSize(100)).toBe(100);
    expect(parseByteSize("lots")).toBeUndefined();
  });
});
