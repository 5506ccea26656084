// Admin-side Postgres plumbing shared by the vitest globalSetup and the database helpers (no vitest imports here,
// because globalSetup runs outside the test workers).
import type pg from "pg";
import { isAlive } from "./pids.ts";

/** Server where tests create their databases; a superuser (or a role with CREATEDB) on its `postgres` database. */
export function adminDatabaseUrl(): string {
  return process.env.PREFECT_SERVER_TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
}

/** Per-file test databases are named `prefect_test_<pid>_<n>_<hex>`: the pid says whose they are. */
export const TEST_DATABASE_PREFIX = "prefect_test_";

/**
 * Runs `statement` again while Postgres answers "being accessed by other users" (a template or database that still
 * has a closing connection, or a concurrent clone of the same template).
 */
export async function retryWhileInUse<T>(statement: () => Promise<T>, attempts = 100): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if ((error as { code?: string }).code !== "55006" || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20 * attempt, 200)));
    }
  }
}

export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`drop database if exists ${client.escapeIdentifier(name)} with (force)`);
}

/** Drops test databases left by processes that no longer exist (a crashed or killed run). */
export async function dropAbandonedTestDatabases(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(
    "select datname from pg_database where starts_with(datname, $1)",
    [TEST_DATABASE_PREFIX],
  );
  for (const { datname } of rows) {
    const pid = Number(datname.slice(TEST_DATABASE_PREFIX.length).split("_")[0]);
    if (Number.isInteger(pid) && !isAlive(pid)) await dropDatabase(client, datname);
  }
}
