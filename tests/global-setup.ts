// vitest globalSetup: makes sure a migrated template database exists for the current migrations, so every test file
// can clone a fresh database from it in a fraction of a second (tests/helpers/database.ts).
//
// The template is `prefect_tpl_<first 12 hex of a sha256 over migrations/{committed,down}/*.sql>`: reused while the migrations are
// unchanged, rebuilt when they change. Everything happens under an advisory lock, so concurrent vitest runs (other
// worktrees, CI jobs) against the same server build each template once and never see a half-built one.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import type { TestProject } from "vitest/node";
import { MIGRATIONS_DIR, upgrade, withClient, withDatabase } from "../services/shared/src/database/migrations.ts";
import {
  adminDatabaseUrl,
  dropAbandonedTestDatabases,
  dropDatabase,
  retryWhileInUse,
} from "./helpers/postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin connection URL of the test server (its `postgres` database). */
    adminDatabaseUrl: string;
    /** Name of the migrated template database to clone. */
    templateDatabase: string;
  }
}

const TEMPLATE_PREFIX = "prefect_tpl_";
const BUILD_PREFIX = "prefect_tplbuild_";
// pg_advisory_lock key of the harness (arbitrary, fixed).
const HARNESS_LOCK = 7_403_512_618_001;
// Templates of other migration sets are kept while recently used: another checkout may be testing with them.
const STALE_AFTER_MS = 60 * 60 * 1000;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = adminDatabaseUrl();
  const template = `${TEMPLATE_PREFIX}${await migrationsHash()}`;

  await withClient(adminUrl, async (client) => {
    await client.query("select pg_advisory_lock($1)", [HARNESS_LOCK]);
    try {
      await dropAbandonedTestDatabases(client);
      await dropStaleTemplates(client, template);
      const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [template]);
      if (!rowCount) await buildTemplate(client, adminUrl, template);
      // records when this template was last used (see dropStaleTemplates)
      await client.query(`comment on database ${client.escapeIdentifier(template)} is '${new Date().toISOString()}'`);
    } finally {
      await client.query("select pg_advisory_unlock($1)", [HARNESS_LOCK]);
    }
  });

  project.provide("adminDatabaseUrl", adminUrl);
  project.provide("templateDatabase", template);
  return async () => {
    await withClient(adminUrl, dropAbandonedTestDatabases);
  };
}

async function migrationsHash(): Promise<string> {
  const hash = createHash("sha256");
  // committed migrations and down scripts only: editing current.sql (watch mode) must not rebuild the template
  const files = (await readdir(MIGRATIONS_DIR, { recursive: true }))
    .filter((file) => /^(committed|down)\/[^/]+\.sql$/.test(file))
    .sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(MIGRATIONS_DIR, file)));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 12);
}

/** Migrates a scratch database, then renames it into place, so a template that exists is always complete. */
async function buildTemplate(client: pg.Client, adminUrl: string, template: string): Promise<void> {
  const scratch = `${BUILD_PREFIX}${template.slice(TEMPLATE_PREFIX.length)}`;
  await dropDatabase(client, scratch);
  await client.query(`create database ${client.escapeIdentifier(scratch)} template template0`);
  await upgrade({ connectionString: withDatabase(adminUrl, scratch) });
  await retryWhileInUse(() =>
    client.query(`alter database ${client.escapeIdentifier(scratch)} rename to ${client.escapeIdentifier(template)}`),
  );
}

/** Drops half-built templates and templates of other migration sets not used for STALE_AFTER_MS. */
async function dropStaleTemplates(client: pg.Client, current: string): Promise<void> {
  const { rows } = await client.query<{ datname: string; last_used: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as last_used
     from pg_database where starts_with(datname, $1) or starts_with(datname, $2)`,
    [TEMPLATE_PREFIX, BUILD_PREFIX],
  );
  for (const { datname, last_used } of rows) {
    if (datname === current) continue;
    const lastUsed = Date.parse(last_used ?? "");
    const stale = datname.startsWith(BUILD_PREFIX) || !(Date.now() - lastUsed < STALE_AFTER_MS);
    if (!stale) continue;
    try {
      await client.query(`drop database ${client.escapeIdentifier(datname)}`);
    } catch (error) {
      // being cloned by another run right now: leave it for a later run
      if ((error as { code?: string }).code !== "55006") throw error;
    }
  }
}
