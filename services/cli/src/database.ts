// `prefect-server database create|upgrade|downgrade|reset|prune`.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import { createPool } from "../../shared/src/database/pool.ts";
import {
  downgrade,
  ensureDatabase,
  migrationStatus,
  reset,
  RESOLVE_CONFLICTS_FLAG,
  upgrade,
} from "../../shared/src/database/migrations.ts";
import { maskUrl } from "../../shared/src/logger.ts";
import {
  countRetention,
  describeRemovedRows,
  removedRowsByField,
  runRetention,
  type RemovedRows,
  type RetentionRules,
} from "../../domain/src/towel/retention.ts";
import { CliError, confirm, shutdownSignal } from "./common.ts";

/** Hosts `database reset` accepts without -u/--unsafe (any port; v1 also required 5432). */
const LOCAL_HOSTS = ["localhost", "127.0.0.1", "::1", "postgres"];

interface DatabaseOptions {
  databaseUrl?: string;
  yes?: boolean;
}

const log = (line: string) => console.log(line);

function databaseUrl(options: DatabaseOptions): string {
  return options.databaseUrl ?? config().database.connection_url;
}

function withCommonOptions(command: Command, prompts = true): Command {
  command.option("-d, --database-url <url>", "the database to work on (default: the configured database.connection_url)");
  if (prompts) command.option("-y, --yes", "do not ask for confirmation");
  return command;
}

function printList(heading: string, names: string[], none: string): void {
  if (names.length === 0) {
    console.log(none);
    return;
  }
  console.log(heading);
  for (const name of names) console.log(`  ${name}`);
}

export function databaseCommand(): Command {
  const database = new Command("database").description("Create, migrate and reset the database");

  withCommonOptions(database.command("create").description("Create the database if it does not exist"), false).action(
    async (options: DatabaseOptions) => {
      const url = databaseUrl(options);
      const created = await ensureDatabase(url);
      console.log(created ? `Created the database ${maskUrl(url)}.` : `The database ${maskUrl(url)} already exists.`);
    },
  );

  withCommonOptions(
    database
      .command("upgrade")
      .description("Apply every pending migration; take over a Prefect Server v1 database (docs/migrating-from-v1.md)"),
  )
    .option(RESOLVE_CONFLICTS_FLAG, "on a v1 database, resolve the rows v1 allowed and our constraints refuse, as documented")
    .action(async (options: DatabaseOptions & { resolveConflicts?: boolean }) => {
      const url = databaseUrl(options);
      await confirm(`Upgrade the database ${maskUrl(url)}?`, options.yes);
      const applied = await upgrade({ connectionString: url, log, resolveConflicts: options.resolveConflicts });
      printList("Applied:", applied, "The database is already up to date.");
    });

  withCommonOptions(database.command("downgrade").description("Undo migrations, down to TARGET (default: all of them)"))
    .option("-n, --target <target>", 'migration to go back to: a file name, its number, or "base" for none', "base")
    .option("-u, --unsafe", "allow undoing 000001 on a database taken over from v1 (it drops every table)")
    .action(async (options: DatabaseOptions & { target: string; unsafe?: boolean }) => {
      const url = databaseUrl(options);
      await confirm(`Downgrade the database ${maskUrl(url)} to ${options.target}? Data may be lost.`, options.yes);
      const undone = await downgrade({ connectionString: url, target: options.target, log, unsafe: options.unsafe });
      printList("Undone:", undone, "Nothing to undo.");
    });

  withCommonOptions(database.command("reset").description("Undo every migration, then apply them all again"))
    .option("-u, --unsafe", "allow resetting a database that is not on this machine, or one taken over from v1")
    .action(async (options: DatabaseOptions & { unsafe?: boolean }) => {
      const url = databaseUrl(options);
      const host = hostOf(url);
      if (!options.unsafe && !LOCAL_HOSTS.includes(host)) {
        throw new CliError(
          `Refusing to reset ${maskUrl(url)}: its host "${host}" is not local (${LOCAL_HOSTS.join(", ")}). ` +
            "Pass -u/--unsafe to reset it anyway.",
        );
      }
      await confirm(`Reset the database ${maskUrl(url)}? ALL DATA WILL BE LOST.`, options.yes);
      await reset({ connectionString: url, log, unsafe: options.unsafe });
      const { applied } = await migrationStatus({ connectionString: url });
      console.log(`Reset the database: ${applied.length} migration(s) applied.`);
    });

  withCommonOptions(
    database
      .command("prune")
      .description("Delete finished flow runs (with their task runs, states, artifacts and logs) and logs older than an age"),
  )
    .option("--older-than <duration>", "finished flow runs not updated for this long go, with all their rows (30d, 12h, 90m …)", (value) =>
      parseAge("--older-than", value),
    )
    .option("--logs-older-than <duration>", "logs older than this go, whatever their run (default: --older-than)", (value) =>
      parseAge("--logs-older-than", value),
    )
    .option("--dry-run", "count what would be deleted; delete nothing")
    .option("--json", "print the result as one JSON object")
    .action(async (options: PruneOptions) => prune(options));

  return database;
}

interface PruneOptions extends DatabaseOptions {
  olderThan?: Age;
  logsOlderThan?: Age;
  dryRun?: boolean;
  json?: boolean;
}

/** An age as given (`30d`) and in seconds. */
interface Age {
  text: string;
  seconds: number;
}

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };
const MAX_AGE_SECONDS = 100 * 365 * 86_400;
/** How often a long prune says how far it got. */
const PROGRESS_INTERVAL_MS = 10_000;

function parseAge(option: string, value: string): Age {
  const match = /^\s*(\d+)\s*([smhdw])\s*$/i.exec(value);
  if (!match) throw new CliError(`${option} must be a duration such as 30d, 12h or 90m (units s, m, h, d, w), not ${JSON.stringify(value)}.`);
  const seconds = Number(match[1]) * AGE_UNITS[match[2]!.toLowerCase()]!;
  if (seconds === 0) throw new CliError(`${option} must be longer than 0, not ${JSON.stringify(value)}.`);
  if (seconds > MAX_AGE_SECONDS) throw new CliError(`${option} must be at most 100 years, not ${JSON.stringify(value)}.`);
  return { text: value.trim(), seconds };
}

const secondsSince = (started: number) => ((performance.now() - started) / 1000).toFixed(1);

async function prune(options: PruneOptions): Promise<void> {
  const logsAge = options.logsOlderThan ?? options.olderThan;
  if (!logsAge) throw new CliError("Give --older-than (finished flow runs and logs) or --logs-older-than (logs only), e.g. --older-than 30d.");
  const rules: RetentionRules = { flowRunsOlderThanSeconds: options.olderThan?.seconds ?? null, logsOlderThanSeconds: logsAge.seconds };
  const what = [
    ...(options.olderThan ? [`finished flow runs not updated for ${options.olderThan.text} (with their task runs, states, artifacts and logs)`] : []),
    `logs older than ${logsAge.text}`,
  ].join(" and ");
  const url = databaseUrl(options);
  const report = (removed: RemovedRows, extra: Record<string, unknown>) =>
    console.log(JSON.stringify({ dry_run: options.dryRun === true, ...extra, ...removedRowsByField(removed) }));
  const db = createPool(url, 1);
  try {
    const started = performance.now();
    if (options.dryRun) {
      if (!options.json) console.log(`Counting ${what} …`);
      const counted = await countRetention(db, rules);
      if (options.json) report(counted, { seconds: Number(secondsSince(started)) });
      else console.log(`Would delete ${describeRemovedRows(counted)} (counted in ${secondsSince(started)} s; nothing was deleted).`);
      return;
    }
    await confirm(`Delete ${what} from ${maskUrl(url)}?`, options.yes);
    if (!options.json) console.log(`Deleting ${what}, in batches (Ctrl-C stops after the batch in progress) …`);
    const shutdown = shutdownSignal();
    let lastProgress = performance.now();
    try {
      const result = await runRetention(db, rules, {
        signal: shutdown.signal,
        onBatch: (removed) => {
          if (options.json || performance.now() - lastProgress < PROGRESS_INTERVAL_MS) return;
          lastProgress = performance.now();
          console.log(`… so far ${describeRemovedRows(removed)} (${secondsSince(started)} s)`);
        },
      });
      if (options.json) report(result.removed, { complete: result.complete, seconds: Number(secondsSince(started)) });
      else if (result.complete) console.log(`Deleted ${describeRemovedRows(result.removed)} in ${secondsSince(started)} s.`);
      else {
        console.log(
          `Stopped after the batch in progress: deleted ${describeRemovedRows(result.removed)} in ${secondsSince(started)} s. ` +
            "Run the same command again to go on.",
        );
      }
    } finally {
      shutdown.release();
    }
  } finally {
    await db.end();
  }
}

function hostOf(url: string): string {
  try {
    // WHATWG URLs keep IPv6 hosts in brackets: [::1].
    return new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  } catch {
    throw new CliError(`Not a database URL: ${maskUrl(url)}`);
  }
}
