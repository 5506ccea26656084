// Per-test-file databases, cloned from the migrated template that tests/global-setup.ts prepares.
//
//   const db = useTestDatabase();            // at the top of a test file
//   test("...", async () => { await db.pool.query("...") });
//
// Each call gets its own database (`prefect_test_<pid>_<n>_<hex>`), dropped again in afterAll, so files run in
// parallel without seeing each other's rows.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, inject } from "vitest";
import { withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";
import { dropDatabase, retryWhileInUse, TEST_DATABASE_PREFIX } from "./postgres.ts";

export interface TestDatabase {
  name: string;
  url: string;
  pool: Pool;
  /** Closes the pool and drops the database (idempotent). */
  drop(): Promise<void>;
}

let created = 0;

/** A fresh database with the full schema (a clone of the migrated template). */
export function createTestDatabase(): Promise<TestDatabase> {
  return createDatabase(inject("templateDatabase"));
}

/** A fresh database with nothing in it, for migration tests. */
export function createEmptyDatabase(): Promise<TestDatabase> {
  return createDatabase("template0");
}

async function createDatabase(template: string): Promise<TestDatabase> {
  const adminUrl = inject("adminDatabaseUrl");
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${++created}_${randomBytes(3).toString("hex")}`;
  await withClient(adminUrl, (client) =>
    retryWhileInUse(() =>
      client.query(`create database ${client.escapeIdentifier(name)} template ${client.escapeIdentifier(template)}`),
    ),
  );
  const url = withDatabase(adminUrl, name);
  const pool = createPool(url, 5);
  let dropping: Promise<void> | undefined;
  return {
    name,
    url,
    pool,
    drop: () =>
      (dropping ??= (async () => {
        await pool.end();
        await withClient(adminUrl, (client) => dropDatabase(client, name));
      })()),
  };
}

/** Registers beforeAll/afterAll hooks that create and drop a test database; its fields are valid inside tests. */
export function useTestDatabase(): Readonly<Omit<TestDatabase, "drop">> {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const current = (): TestDatabase => {
    if (!database) throw new Error("useTestDatabase(): the database exists only inside tests and hooks");
    return database;
  };
  return {
    get name() {
      return current().name;
    },
    get url() {
      return current().url;
    },
    get pool() {
      return current().pool;
    },
  };
}
