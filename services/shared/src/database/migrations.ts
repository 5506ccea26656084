// Database migrations: graphile-migrate applies the committed migrations (migrations/committed/); undoing them uses
// our own paired down scripts (migrations/down/<same file name>), which graphile-migrate does not have. Before
// anything is written, upgrade() recognises what the database holds (adoption.ts): an empty database or one of ours
// is migrated; a Prefect Server v1 database is taken over (000001 recorded as its baseline, the rest applied, index
// builds done concurrently); anything else is refused with a message saying what was found.
// The CLI (`prefect-server database upgrade|downgrade|reset|status`) and the test harness call these functions.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Logger, migrate } from "graphile-migrate";
import { clearAllPools } from "graphile-migrate/dist/pgReal.js";
import pg from "pg";
import { maskUrl } from "../logger.ts";
import { PROJECT_ROOT } from "../paths.ts";
import {
  AdoptionError,
  checkPostgresVersion,
  conflictReport,
  findConflicts,
  inspectDatabase,
  refusal,
  schemaDifferences,
  V1_HEAD_REVISION,
} from "./adoption.ts";

export { AdoptionError };

export interface MigrationOptions {
  connectionString: string;
  /** Receives progress lines; without it the functions are silent. */
  log?: (line: string) => void;
}

/** The CLI flag that resolves the rows a v1 database holds and our constraints refuse. */
export const RESOLVE_CONFLICTS_FLAG = "--resolve-conflicts";

/** Absolute path of the repository's migrations folder. */
export const MIGRATIONS_DIR = join(PROJECT_ROOT, "migrations");

// graphile-migrate's own lock key ("GRAPHILE MIGRATE" on a phone keypad), so a downgrade and a migrate never overlap.
const MIGRATE_LOCK_KEY = "4727445306447283";
// graphile-migrate's committed-file pattern: number, optional message slug.
const MIGRATION_FILE = /^([0-9]+)(-[-_a-zA-Z0-9]*)?\.sql$/;

interface MigrationFile {
  /** File name on disk, e.g. 000001-v1-schema.sql */
  name: string;
  /** Name graphile-migrate records in graphile_migrate.migrations, e.g. 000001.sql */
  recordedAs: string;
  number: number;
  /** Its `--! Hash` and `--! Previous` headers (the previous migration's hash; null for the first). */
  hash: string;
  previousHash: string | null;
  /** Its statements after the headers. */
  body: string;
}

async function migrationFiles(): Promise<MigrationFile[]> {
  const entries = await readdir(join(MIGRATIONS_DIR, "committed")).catch(() => [] as string[]);
  const files = await Promise.all(
    entries.map(async (name) => {
      const match = MIGRATION_FILE.exec(name);
      if (!match) return [];
      const text = await readFile(join(MIGRATIONS_DIR, "committed", name), "utf8");
      const header = (key: string) => new RegExp(`^--! ${key}: (.*)$`, "m").exec(text)?.[1]?.trim();
      const previous = header("Previous");
      return [
        {
          name,
          recordedAs: `${match[1]}.sql`,
          number: Number(match[1]),
          hash: header("Hash") ?? "",
          previousHash: previous && previous !== "-" ? previous : null,
          body: text.replace(/^(--! .*\n)+/, ""),
        },
      ];
    }),
  );
  return files.flat().sort((a, b) => a.recordedAs.localeCompare(b.recordedAs, "en"));
}

/**
 * The hashes an earlier release recorded for migrations whose files were corrected since (000001 to v1's names and
 * functions; the others through graphile-migrate's hash chain, and two comment fixes). graphile-migrate records each
 * applied migration's hash and links the next one to it, so a database that applied the earlier files would refuse
 * the next migration; upgrade() first rewrites such records to the files' current hashes. What the correction
 * changed in the schema, 000006 applies (docs/schema.md, "000006").
 */
const EARLIER_HASHES: Readonly<Record<string, string>> = {
  "000001.sql": "sha1:9a2592ea5a3ccb5e8d288274d108dc59c24c4962",
  "000002.sql": "sha1:e5fa30203abd1c543a2d919241ad234a802ba88f",
  "000003.sql": "sha1:587f9d0b8ce5106f7a2d1cddf2f3b6b77674b92e",
  "000004.sql": "sha1:677cdcff35e0bbf390548991f59151b096a13dfb",
  "000005.sql": "sha1:90dc27461a2e8b1f319218b98e2454741d35bfa4",
};

async function updateEarlierHashes(client: pg.Client, files: MigrationFile[]): Promise<void> {
  const rewrites = files
    .filter((file) => EARLIER_HASHES[file.recordedAs] !== undefined)
    .map((file) => ({ filename: file.recordedAs, earlier: EARLIER_HASHES[file.recordedAs], hash: file.hash, previous_hash: file.previousHash }));
  // one statement: the previous_hash references are checked once every row holds its new hash
  await client.query(
    `update graphile_migrate.migrations m set hash = r.hash, previous_hash = r.previous_hash
     from jsonb_to_recordset($1::jsonb) as r(filename text, earlier text, hash text, previous_hash text)
     where m.filename = r.filename and m.hash = r.earlier`,
    [JSON.stringify(rewrites)],
  );
}

/** Runs `work` on a single connection that is closed afterwards. */
export async function withClient<T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString, application_name: "prefect-server-migrations" });
  client.on("error", () => {}); // a dropped connection fails the running query; it must not crash the process
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The recorded names (000001.sql, ...) of the applied migrations, oldest first; [] before the first upgrade. */
async function appliedRecords(client: pg.Client): Promise<string[]> {
  const { rows: tracking } = await client.query<{ present: boolean }>(
    "select to_regclass('graphile_migrate.migrations') is not null as present",
  );
  if (!tracking[0]?.present) return [];
  const { rows } = await client.query<{ filename: string }>(
    "select filename from graphile_migrate.migrations order by filename",
  );
  return rows.map((row) => row.filename);
}

function fileNameOf(recordedAs: string, files: MigrationFile[]): string {
  return files.find((file) => file.recordedAs === recordedAs)?.name ?? recordedAs;
}

/** The same postgres:// URL (server, credentials, options) naming another database. */
export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function databaseName(connectionString: string): string {
  const name = decodeURIComponent(new URL(connectionString).pathname.slice(1));
  if (!name) throw new Error(`The database URL does not name a database: ${maskUrl(connectionString)}`);
  return name;
}

/**
 * Creates the database named in `connectionString` if it does not exist, connecting to the `postgres` database of the
 * same server with the same credentials. Returns true if it created it.
 */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const name = databaseName(connectionString);
  // An existing database is left alone without touching `postgres` (which a restricted role may not reach).
  try {
    await withClient(connectionString, async () => {});
    return false;
  } catch (error) {
    if ((error as { code?: string }).code !== "3D000") throw error; // 3D000: the database does not exist
  }
  return withClient(withDatabase(connectionString, "postgres"), async (client) => {
    try {
      await client.query(`create database ${client.escapeIdentifier(name)}`);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === "42P04") return false; // created concurrently
      throw error;
    }
  });
}

export interface UpgradeOptions extends MigrationOptions {
  /**
   * On a v1 database holding rows our constraints refuse: resolve them the documented way (RESOLVE_CONFLICTS_FLAG)
   * instead of refusing.
   */
  resolveConflicts?: boolean;
}

/**
 * Applies every pending committed migration. Recognises the database first and refuses, before writing anything, a
 * PostgreSQL too old, a v1 database at an older revision, or a database that is neither empty, ours nor v1's; takes
 * over a v1 database (adoptV1). Returns the file names applied (a v1 database's 000001 included).
 */
export async function upgrade(o: UpgradeOptions): Promise<string[]> {
  const files = await migrationFiles();
  const recorded = await withClient(o.connectionString, async (client) => {
    await checkPostgresVersion(client);
    const found = await inspectDatabase(client);
    const refused = refusal(found);
    if (refused) throw new AdoptionError(refused);
    if (found.kind === "v1") return adoptV1(client, files, o);
    if (found.kind === "ours") await updateEarlierHashes(client, files);
    return [];
  });
  const before = new Set((await migrationStatus(o)).applied);
  // An index-only migration on a database that already has tables (000002 and 000003 after a take-over, 000009) is built
  // concurrently: on years of history a plain index build would keep the runs or logs from being written for minutes.
  await withClient(o.connectionString, (client) => buildIndexesConcurrently(client, files, o.log));
  await runMigrations(o);
  const applied = (await migrationStatus(o)).applied.filter((name) => !before.has(name));
  return [...recorded, ...applied];
}

/** graphile-migrate's `migrate`, each migration's duration logged. */
async function runMigrations(o: MigrationOptions): Promise<void> {
  const log = o.log;
  let running: { name: string; since: number } | undefined;
  const finish = () => {
    if (running) log?.(`Applied '${running.name}' in ${seconds(performance.now() - running.since)}.`);
    running = undefined;
  };
  try {
    await migrate({
      connectionString: o.connectionString,
      // Unused by `migrate`; set so that ROOT_DATABASE_URL from the environment plays no part.
      rootConnectionString: withDatabase(o.connectionString, "template1"),
      migrationsFolder: MIGRATIONS_DIR,
      logger: new Logger(() => (_level, message) => {
        const started = /Running migration '(.+?)'/.exec(message);
        if (started || /committed migrations executed|up to date/i.test(message)) finish();
        if (started) running = { name: started[1]!, since: performance.now() };
        log?.(message);
      }),
    });
  } finally {
    // graphile-migrate keeps its pool open for a moment after use; close it now, so the database can be dropped or
    // used as a template right away (its pool would otherwise kill the process when its connection is terminated).
    clearAllPools();
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Takes over a v1 database (docs/migrating-from-v1.md): checks that its schema is what 000001 describes (allowing
 * what the field is known to differ in), reports the rows v1 allowed and our constraints do not (or resolves them
 * when asked), then records 000001 as applied, in one transaction. Alembic's table and Hasura's schema are left as
 * they are. Returns ["000001-…sql"].
 */
async function adoptV1(client: pg.Client, files: MigrationFile[], o: UpgradeOptions): Promise<string[]> {
  const log = o.log;
  const { rows } = await client.query<{ runs: number; logs: number }>(
    `select greatest(coalesce((select reltuples from pg_class where oid = 'public.flow_run'::regclass), 0), 0)::bigint as runs,
            greatest(coalesce((select reltuples from pg_class where oid = 'public.log'::regclass), 0), 0)::bigint as logs`,
  );
  log?.(
    `Found a Prefect Server v1 database at alembic revision ${V1_HEAD_REVISION} (about ${rows[0]!.runs} flow runs and ` +
      `${rows[0]!.logs} log lines). Taking it over: every row is kept; alembic_version and Hasura's schema are left as they are.`,
  );
  const differences = await schemaDifferences(client);
  if (differences.length > 0) {
    throw new AdoptionError(
      "This database has v1's alembic_version, but its schema is not v1's last schema. Nothing was changed:\n" +
        differences.map((line) => `  ${line}`).join("\n"),
    );
  }
  const conflicts = await findConflicts(client);
  if (conflicts.length > 0 && !o.resolveConflicts) throw new AdoptionError(conflictReport(conflicts, RESOLVE_CONFLICTS_FLAG));
  const baseline = files[0]!;
  await client.query("begin");
  try {
    for (const conflict of conflicts) {
      await conflict.resolve(client);
      log?.(`Resolved ${conflict.what}: ${conflict.resolution}.`);
    }
    await client.query(GRAPHILE_MIGRATE_TABLES);
    await client.query("insert into graphile_migrate.migrations (hash, previous_hash, filename) values ($1, $2, $3)", [
      baseline.hash,
      baseline.previousHash,
      baseline.recordedAs,
    ]);
    await client.query("commit");
  } catch (error) {
    await client.query("rollback");
    throw error;
  }
  log?.(`Recorded '${baseline.name}' as applied: the database already has v1's schema.`);
  return [baseline.name];
}

/** The bookkeeping tables graphile-migrate creates on its first run (the same definitions, so it finds them as its own). */
const GRAPHILE_MIGRATE_TABLES = `
  create schema if not exists graphile_migrate;
  create table if not exists graphile_migrate.migrations (
    hash text primary key,
    previous_hash text references graphile_migrate.migrations,
    filename text not null,
    date timestamptz not null default now()
  );
  create table if not exists graphile_migrate.current (
    filename text primary key default 'current.sql',
    content text not null,
    date timestamptz not null default now()
  );`;

/** The statements of a migration when every one of them creates or drops an index; else undefined. */
function indexStatements(file: MigrationFile): string[] | undefined {
  const statements = file.body
    .split(/;\s*\n/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, "").trim())
    .filter(Boolean);
  const isIndex = (statement: string) => /^(create (unique )?index \w+ on |drop index if exists \w+$)/i.test(statement);
  return statements.length > 0 && statements.every(isIndex) ? statements : undefined;
}

/**
 * Applies the pending migrations that only build or drop indexes, while they come next and the database already has
 * tables, with CREATE/DROP INDEX CONCURRENTLY (no lock that keeps writers out), then records each as graphile-migrate
 * would. A build interrupted earlier leaves an invalid index, which is dropped and built again.
 */
async function buildIndexesConcurrently(client: pg.Client, files: MigrationFile[], log?: (line: string) => void): Promise<void> {
  const records = await appliedRecords(client);
  if (records.length === 0) return; // a new database: its tables are empty, graphile-migrate builds them as it goes
  const locked = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [MIGRATE_LOCK_KEY]);
  if (!locked.rows[0]?.locked) throw new Error("Another migration is running on this database; try again later.");
  try {
    for (const file of files.filter((candidate) => candidate.recordedAs > records.at(-1)!)) {
      const statements = indexStatements(file);
      if (!statements) return;
      log?.(`Applying '${file.name}' with concurrent index builds`);
      const started = performance.now();
      for (const statement of statements) {
        const build = /^create (unique )?index (\w+) (on .*)$/is.exec(statement);
        const stepStarted = performance.now();
        if (build) {
          const [, unique, name, rest] = build;
          const { rows } = await client.query<{ valid: boolean }>(
            "select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass($1)",
            [name],
          );
          if (rows[0] && !rows[0].valid) await client.query(`drop index concurrently ${name}`);
          await client.query(`create ${unique ?? ""}index concurrently if not exists ${name} ${rest}`);
          log?.(`  index ${name} built in ${seconds(performance.now() - stepStarted)}`);
        } else {
          await client.query(statement.replace(/^drop index if exists/i, "drop index concurrently if exists"));
        }
      }
      await client.query("insert into graphile_migrate.migrations (hash, previous_hash, filename) values ($1, $2, $3)", [
        file.hash,
        file.previousHash,
        file.recordedAs,
      ]);
      log?.(`Applied '${file.name}' in ${seconds(performance.now() - started)}.`);
    }
  } finally {
    await client.query("select pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]);
  }
}

/**
 * Undoes applied migrations, newest first, down to (not including) `target`: a file name ("000001-v1-schema.sql"),
 * its number ("1", "000001") or "base" (the default: undo everything). Each step runs the migration's down script and
 * deletes its graphile_migrate.migrations row in one transaction. Returns the file names undone.
 */
export async function downgrade(o: MigrationOptions & { target?: string; unsafe?: boolean }): Promise<string[]> {
  const files = await migrationFiles();
  const targetNumber = resolveTarget(o.target ?? "base", files);
  return withClient(o.connectionString, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [
      MIGRATE_LOCK_KEY,
    ]);
    if (!rows[0]?.locked) throw new Error("Another migration is running on this database; try again later.");
    try {
      const toUndo = (await appliedRecords(client)).filter((record) => parseInt(record, 10) > targetNumber).reverse();
      if (toUndo.includes(files[0]?.recordedAs ?? "") && !o.unsafe) await refuseDestroyingV1History(client);
      const scripts = await Promise.all(toUndo.map((record) => downScript(record, files)));
      const undone: string[] = [];
      for (const [index, record] of toUndo.entries()) {
        const name = fileNameOf(record, files);
        o.log?.(`Undoing migration '${name}'`);
        await client.query("begin");
        try {
          await client.query(scripts[index]!);
          await client.query("delete from graphile_migrate.migrations where filename = $1", [record]);
          await client.query("commit");
        } catch (error) {
          await client.query("rollback");
          throw new Error(`Undoing migration '${name}' failed: ${(error as Error).message}`, { cause: error });
        }
        undone.push(name);
      }
      o.log?.(undone.length ? `${undone.length} migrations undone` : "Nothing to undo");
      return undone;
    } finally {
      await client.query("select pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]);
    }
  });
}

/**
 * Undoing 000001 drops every table; on a database taken over from v1 (it has alembic's table) that is years of
 * history, so it is refused unless the caller passed unsafe.
 */
async function refuseDestroyingV1History(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ v1: boolean }>("select to_regclass('public.alembic_version') is not null as v1");
  if (!rows[0]?.v1) return;
  throw new AdoptionError(
    "This database was taken over from Prefect Server v1: undoing 000001 would drop its tables and every flow, run " +
      "and log in them. Nothing was changed. To hand it back to v1, downgrade to 000001 " +
      "(`prefect-server database downgrade -n 1`); pass --unsafe to destroy it anyway.",
  );
}

function resolveTarget(target: string, files: MigrationFile[]): number {
  if (target === "base") return 0;
  const match = /^[0-9]+$/.test(target)
    ? files.find((file) => file.number === Number(target))
    : files.find((file) => file.name === target || file.recordedAs === target);
  if (!match) {
    const known = ["base", ...files.map((file) => file.name)].join(", ");
    throw new Error(`Unknown migration target '${target}'. Known targets: ${known}`);
  }
  return match.number;
}

async function downScript(record: string, files: MigrationFile[]): Promise<string> {
  const file = files.find((candidate) => candidate.recordedAs === record);
  if (!file) throw new Error(`Migration '${record}' is applied but has no file in ${join(MIGRATIONS_DIR, "committed")}`);
  const path = join(MIGRATIONS_DIR, "down", file.name);
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new Error(`Migration '${file.name}' has no down script (expected ${path})`);
  }
}

/**
 * Undoes every migration, then applies them all again (v1's `database reset`); needs no superuser. Refused on a
 * database taken over from v1 unless `unsafe`.
 */
export async function reset(o: MigrationOptions & { unsafe?: boolean }): Promise<void> {
  await downgrade({ ...o, target: "base" });
  await upgrade(o);
}

/** Applied migrations (oldest first) and the committed ones still to apply, as file names. */
export async function migrationStatus(o: MigrationOptions): Promise<{ applied: string[]; pending: string[] }> {
  const files = await migrationFiles();
  const records = await withClient(o.connectionString, appliedRecords);
  const last = records.at(-1);
  return {
    applied: records.map((record) => fileNameOf(record, files)),
    // as graphile-migrate decides: everything after the last applied migration
    pending: files.filter((file) => last === undefined || file.recordedAs > last).map((file) => file.name),
  };
}
