// Database migrations: graphile-migrate applies the committed migrations (migrations/committed/); undoing them uses
// our own paired down scripts (migrations/down/<same file name>), which graphile-migrate does not have.
// The CLI (`prefect-server database upgrade|downgrade|reset|status`) and the test harness call these functions.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Logger, migrate } from "graphile-migrate";
import { clearAllPools } from "graphile-migrate/dist/pgReal.js";
import pg from "pg";
import { PROJECT_ROOT } from "../paths.ts";

export interface MigrationOptions {
  connectionString: string;
  /** Receives progress lines; without it the functions are silent. */
  log?: (line: string) => void;
}

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
}

async function migrationFiles(): Promise<MigrationFile[]> {
  const entries = await readdir(join(MIGRATIONS_DIR, "committed")).catch(() => [] as string[]);
  return entries
    .flatMap((name) => {
      const match = MIGRATION_FILE.exec(name);
      return match ? [{ name, recordedAs: `${match[1]}.sql`, number: Number(match[1]) }] : [];
    })
    .sort((a, b) => a.recordedAs.localeCompare(b.recordedAs, "en"));
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
  if (!name) throw new Error(`The database URL does not name a database: ${redact(connectionString)}`);
  return name;
}

function redact(connectionString: string): string {
  const url = new URL(connectionString);
  if (url.password) url.password = "***";
  return url.toString();
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

/** Applies every pending committed migration (graphile-migrate `migrate`). Returns the file names applied. */
export async function upgrade(o: MigrationOptions): Promise<string[]> {
  const before = new Set((await migrationStatus(o)).applied);
  const log = o.log;
  try {
    await migrate({
      connectionString: o.connectionString,
      // Unused by `migrate`; set so that ROOT_DATABASE_URL from the environment plays no part.
      rootConnectionString: withDatabase(o.connectionString, "template1"),
      migrationsFolder: MIGRATIONS_DIR,
      logger: new Logger(() => (_level, message) => log?.(message)),
    });
  } finally {
    // graphile-migrate keeps its pool open for a moment after use; close it now, so the database can be dropped or
    // used as a template right away (its pool would otherwise kill the process when its connection is terminated).
    clearAllPools();
  }
  return (await migrationStatus(o)).applied.filter((name) => !before.has(name));
}

/**
 * Undoes applied migrations, newest first, down to (not including) `target`: a file name ("000001-v1-schema.sql"),
 * its number ("1", "000001") or "base" (the default: undo everything). Each step runs the migration's down script and
 * deletes its graphile_migrate.migrations row in one transaction. Returns the file names undone.
 */
export async function downgrade(o: MigrationOptions & { target?: string }): Promise<string[]> {
  const files = await migrationFiles();
  const targetNumber = resolveTarget(o.target ?? "base", files);
  return withClient(o.connectionString, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) as locked", [
      MIGRATE_LOCK_KEY,
    ]);
    if (!rows[0]?.locked) throw new Error("Another migration is running on this database; try again later.");
    try {
      const toUndo = (await appliedRecords(client)).filter((record) => parseInt(record, 10) > targetNumber).reverse();
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

/** Undoes every migration, then applies them all again (v1's `database reset`); needs no superuser. */
export async function reset(o: MigrationOptions): Promise<void> {
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
