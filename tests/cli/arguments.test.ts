// Argument parsing of the CLI: help, service names and v1 aliases, include/exclude, unknown names.
import { describe, expect, test } from "vitest";
import { CliError } from "../../services/cli/src/common.ts";
import { resolveServiceName, selectServices } from "../../services/cli/src/registry.ts";
import { FAKE_SERVICES, runCli, startCli } from "./run.ts";

describe("service names", () => {
  test("v1 names are aliases", () => {
    expect(resolveServiceName("hasura")).toBe("postgraphile");
    expect(resolveServiceName("graphql")).toBe("mutations");
    expect(resolveServiceName("APOLLO")).toBe("gateway");
    expect(resolveServiceName("towel")).toBe("towel");
  });

  test("an unknown name lists the valid ones", () => {
    expect(() => resolveServiceName("ui")).toThrow(CliError);
    expect(() => resolveServiceName("ui")).toThrow(/Unknown service "ui". Valid names: postgraphile, mutations, gateway, towel/);
  });

  test("include and exclude select in registry order", () => {
    expect(selectServices()).toEqual(["postgraphile", "mutations", "gateway", "towel"]);
    expect(selectServices(["apollo", "graphql"])).toEqual(["mutations", "gateway"]);
    expect(selectServices([], ["graphql"])).toEqual(["postgraphile", "gateway", "towel"]);
    expect(selectServices(["towel", "hasura"], ["towel"])).toEqual(["postgraphile"]);
    expect(() => selectServices([], ["nope"])).toThrow(/Unknown service "nope"/);
  });
});

describe("prefect-server", () => {
  test("--help names the CLI and its commands", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("The Prefect Server CLI");
    for (const command of ["database", "dev", "services", "start", "create-tenant"]) expect(stdout).toContain(command);
  });

  test("database --help lists its subcommands", async () => {
    const { stdout } = await runCli(["database", "--help"]);
    for (const command of ["create", "upgrade", "downgrade", "reset"]) expect(stdout).toContain(command);
  });

  test("services: an unknown name is an error listing the valid names", async () => {
    const { code, stderr } = await runCli(["services", "ui"]);
    expect(code).toBe(1);
    expect(stderr).toContain('Error: Unknown service "ui". Valid names: postgraphile, mutations, gateway, towel');
  });

  test("services: a service not built yet is an error", async () => {
    const { code, stderr } = await runCli(["services", "apollo"], { PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES });
    expect(code).toBe(1);
    expect(stderr).toContain("Error: service gateway is not available yet");
  });

  test("services: runs a built service in the foreground until SIGTERM, by its v1 name too", async () => {
    const run = startCli(["services", "graphql"], {
      PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES,
      DATABASE_URL: "postgresql://someone@db.example:5432/somewhere",
    });
    await run.waitFor("fake mutations started");
    expect(run.stdout).toContain("postgresql://someone@db.example:5432/somewhere");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.stdout).toContain("fake mutations stopped");
  });

  test("services: a service that never finishes stopping exits with status 1 after the stop timeout", async () => {
    const run = startCli(["services", "towel"], {
      PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES,
      FAKE_SERVICE_HANG_ON_STOP: "towel",
      PREFECT_SERVER__SERVICES__STOP_TIMEOUT_SECONDS: "1",
    });
    await run.waitFor("fake towel started");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(1);
    expect(run.stdout).toContain("towel did not stop within 1 s; exiting anyway");
  });

  test("dev services: unknown include/exclude names are errors", async () => {
    const { code, stderr } = await runCli(["dev", "services", "-i", "towel,ui"]);
    expect(code).toBe(1);
    expect(stderr).toContain('Unknown service "ui"');
    expect((await runCli(["dev", "services", "--exclude", "hasura,nope"])).code).toBe(1);
  });

  test("dev services: with none of the selected services built it says so and exits 0", async () => {
    const { code, stdout } = await runCli(["dev", "services", "-i", "hasura,apollo"], {
      PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES,
    });
    expect(code).toBe(0);
    expect(stdout).toContain("Not built yet: postgraphile, gateway.");
    expect(stdout).toContain("None of the selected services is available yet");
  });

  test("create-tenant needs --name", async () => {
    const { code, stderr } = await runCli(["create-tenant"]);
    expect(code).toBe(1);
    expect(stderr).toContain("required option '--name <name>' not specified");
  });

  test("an unknown command is an error", async () => {
    const { code, stderr } = await runCli(["frobnicate"]);
    expect(code).toBe(1);
    expect(stderr).toContain("unknown command 'frobnicate'");
  });
});
