// `prefect-server database create|upgrade|downgrade|reset`.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import {
  downgrade,
  ensureDatabase,
  migrationStatus,
  reset,
  RESOLVE_CONFLICTS_FLAG,
  upgrade,
} from "../../shared/src/database/migrations.ts";
import { maskUrl } from "../../shared/src/logger.ts";
import { CliError, confirm } from "./common.ts";

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

  return database;
}

function hostOf(url: string): string {
  try {
    // WHATWG URLs keep IPv6 hosts in brackets: [::1].
    return new URL(url).hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  } catch {
    throw new CliError(`Not a database URL: ${maskUrl(url)}`);
  }
}
