// `prefect-server concurrency list|set|delete`: the operators' view of the concurrency limits (docs/concurrency.md).
// The same domain functions as the API's update_/delete_ mutations.
import { Command, Option } from "commander";
import { config } from "../../shared/src/config.ts";
import { createPool, type Pool } from "../../shared/src/database/pool.ts";
import {
  deleteLimitByName,
  limitTenant,
  listLimits,
  setFlowLabelLimit,
  setTaskTagLimit,
  tenantBySlugOrId,
} from "../../domain/src/concurrency.ts";
import { ApiError } from "../../domain/src/errors.ts";
import { CliError } from "./common.ts";

interface Common {
  databaseUrl?: string;
  tenant?: string;
}

interface Target extends Common {
  tag?: string;
  label?: string;
}

async function withDatabase<T>(options: Common, work: (db: Pool) => Promise<T>): Promise<T> {
  const db = createPool(options.databaseUrl ?? config().database.connection_url, 1);
  try {
    return await work(db);
  } catch (error) {
    if (error instanceof ApiError) throw new CliError(error.message);
    throw error;
  } finally {
    await db.end();
  }
}

/** The tenant named by --tenant (slug or id), or the server's only tenant. */
const tenantOf = async (db: Pool, options: Common) => (options.tenant ? tenantBySlugOrId(db, options.tenant) : limitTenant(db, null));

function target(options: Target): { kind: "task-tag" | "flow-label"; name: string } {
  if ((options.tag === undefined) === (options.label === undefined)) throw new CliError("Give either --tag (a task tag) or --label (a flow-run label).");
  return options.tag !== undefined ? { kind: "task-tag", name: options.tag } : { kind: "flow-label", name: options.label! };
}

const describeTarget = ({ kind, name }: { kind: string; name: string }) => `${kind === "task-tag" ? "task tag" : "flow label"} ${JSON.stringify(name)}`;

function withCommon(command: Command): Command {
  return command
    .option("--tenant <slug-or-id>", "the tenant (default: the server's only tenant)")
    .option("-d, --database-url <url>", "the database (default: the configured database.connection_url)");
}

function withTarget(command: Command): Command {
  return withCommon(command)
    .addOption(new Option("--tag <tag>", "a task tag: limits the task runs with it that run at once").conflicts("label"))
    .addOption(new Option("--label <label>", "a flow-run label: limits the flow runs with it that run at once").conflicts("tag"));
}

export function concurrencyCommand(): Command {
  const command = new Command("concurrency").description("Task-tag and flow-label concurrency limits (docs/concurrency.md)");

  withCommon(command.command("list").description("List the limits with the runs holding their slots now"))
    .option("--all-tenants", "list the limits of every tenant")
    .option("--json", "print JSON lines instead of a table")
    .action(async (options: Common & { allTenants?: boolean; json?: boolean }) => {
      const rows = await withDatabase(options, async (db) => listLimits(db, options.allTenants ? null : await tenantOf(db, options)));
      if (options.json) {
        for (const row of rows) console.log(JSON.stringify(row));
        return;
      }
      if (rows.length === 0) {
        console.log("No concurrency limits.");
        return;
      }
      const table = [["TENANT", "KIND", "NAME", "USAGE", "LIMIT", "ID"], ...rows.map((r) => [r.tenant_slug, r.kind, r.name, String(r.usage), String(r.limit), r.id])];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
      for (const line of table) console.log(line.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd());
    });

  withTarget(command.command("set").description("Set the limit of a task tag or flow-run label (0: none may run)"))
    .requiredOption("--limit <n>", "how many may run at once", (value) => {
      if (!/^\d+$/.test(value)) throw new CliError(`--limit must be a whole number >= 0, not ${JSON.stringify(value)}.`);
      return Number(value);
    })
    .action(async (options: Target & { limit: number }) => {
      const limited = target(options);
      const id = await withDatabase(options, async (db) => {
        const tenant_id = await tenantOf(db, options);
        return limited.kind === "task-tag"
          ? setTaskTagLimit(db, { tenant_id, tag: limited.name, limit: options.limit })
          : setFlowLabelLimit(db, { tenant_id, label: limited.name, limit: options.limit });
      });
      console.log(`Limit of ${describeTarget(limited)} set to ${options.limit} (id ${id}).`);
    });

  withTarget(command.command("delete").description("Remove the limit of a task tag or flow-run label")).action(async (options: Target) => {
    const limited = target(options);
    const removed = await withDatabase(options, async (db) => deleteLimitByName(db, limited.kind, await tenantOf(db, options), limited.name));
    if (!removed) throw new CliError(`There is no limit on ${describeTarget(limited)}.`);
    console.log(`Limit of ${describeTarget(limited)} removed.`);
  });

  return command;
}
