// `prefect-server database create|upgrade|downgrade|reset` against real, fresh databases.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { inject } from "vitest";
import { migrationStatus, withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.ts";
import { CLI, cliEnv, runCli } from "./run.ts";

let db: TestDatabase;
beforeAll(async () => {
  db = await createEmptyDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const applied = async () => (await migrationStatus({ connectionString: db.url })).applied;

test("upgrade, downgrade to a target, downgrade to base, reset", async () => {
  const up = await runCli(["database", "upgrade", "-y", "-d", db.url]);
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout).toMatch(/Applied:\n {2}000001-v1-schema\.sql\n {2}000002-/);
  const all = await applied();
  expect(all.length).toBeGreaterThanOrEqual(2);

  const again = await runCli(["database", "upgrade", "--yes", "--database-url", db.url]);
  expect(again.stdout).toContain("The database is already up to date.");

  const down = await runCli(["database", "downgrade", "-y", "-n", "1", "-d", db.url]);
  expect(down.code, down.stderr).toBe(0);
  expect(down.stdout).toContain("Undone:");
  expect(down.stdout).not.toMatch(/^ {2}000001/m);
  expect(await applied()).toEqual(["000001-v1-schema.sql"]);

  const base = await runCli(["database", "downgrade", "--yes", "--database-url", db.url]);
  expect(base.stdout).toMatch(/^ {2}000001-v1-schema\.sql$/m);
  expect(await applied()).toEqual([]);
  expect((await runCli(["database", "downgrade", "-y", "-d", db.url])).stdout).toContain("Nothing to undo.");

  await db.pool.query("select 1"); // the pool still works on an emptied database
  const reset = await runCli(["database", "reset", "-y", "-d", db.url]);
  expect(reset.code, reset.stderr).toBe(0);
  expect(reset.stdout).toContain(`Reset the database: ${all.length} migration(s) applied.`);
  expect(await applied()).toEqual(all);
});

test("an unknown downgrade target is an error", async () => {
  const { code, stderr } = await runCli(["database", "downgrade", "-y", "-n", "999", "-d", db.url]);
  expect(code).toBe(1);
  expect(stderr).toContain("Unknown migration target '999'");
});

test("without -y and without a terminal, nothing happens", async () => {
  const before = await applied();
  for (const command of ["upgrade", "downgrade", "reset"]) {
    const { code, stderr } = await runCli(["database", command, "-d", db.url]);
    expect(code).toBe(1);
    expect(stderr).toContain("Not confirmed: there is no terminal to ask on. Pass -y/--yes to go ahead.");
  }
  expect(await applied()).toEqual(before);
});

// util-linux `script` gives the CLI a terminal, so the prompt is asked and answered.
test.skipIf(!existsSync("/usr/bin/script"))("on a terminal it asks, and anything but y/yes aborts", async () => {
  const answer = async (reply: string, args: string[]) => {
    const command = [process.execPath, CLI, ...args].map((word) => `'${word}'`).join(" ");
    const child = promisify(execFile)("/usr/bin/script", ["-qec", command, "/dev/null"], { env: cliEnv() });
    child.child.stdin!.end(`${reply}\n`);
    return child.then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
  };
  await runCli(["database", "downgrade", "-y", "-d", db.url]);
  const no = await answer("n", ["database", "upgrade", "-d", db.url]);
  expect(no.stdout).toContain(`Upgrade the database ${db.url}? [y/N]`);
  expect(no.stdout).toContain("Error: Aborted.");
  expect(no.code).toBe(1);
  expect(await applied()).toEqual([]);
  const yes = await answer("yes", ["database", "upgrade", "-d", db.url]);
  expect(yes.stdout).toContain("Applied:");
  expect(yes.code).toBe(0);
  expect((await applied()).length).toBeGreaterThanOrEqual(2);
});

test("reset refuses a database that is not local unless --unsafe", async () => {
  const remote = "postgresql://prefect:secret@db.example.com:5432/prefect_server";
  const refused = await runCli(["database", "reset", "-y", "-d", remote]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('Refusing to reset postgresql://prefect:****@db.example.com:5432/prefect_server: its host "db.example.com" is not local');
  expect(refused.stderr).not.toContain("secret");

  // --unsafe gets past the check (and then fails to connect to the made-up host).
  const unsafe = await runCli(["database", "reset", "--unsafe", "-y", "-d", "postgresql://x@127.0.0.2:1/x"]);
  expect(unsafe.stderr).not.toContain("Refusing");

  // Any port on a local host is fine (v1 insisted on 5432).
  const localOtherPort = await runCli(["database", "reset", "-y", "-d", "postgresql://x@[::1]:1/x"]);
  expect(localOtherPort.stderr).not.toContain("Refusing");
});

test("create makes a missing database and leaves an existing one", async () => {
  const name = `prefect_test_${process.pid}_cli_create_${randomBytes(3).toString("hex")}`;
  const url = withDatabase(inject("adminDatabaseUrl"), name);
  try {
    const first = await runCli(["database", "create", "-d", url]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`Created the database ${url}.`);
    const second = await runCli(["database", "create", "-d", url]);
    expect(second.stdout).toContain("already exists");
  } finally {
    await withClient(inject("adminDatabaseUrl"), (client) =>
      client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`),
    );
  }
});
