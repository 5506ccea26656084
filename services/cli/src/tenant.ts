// `prefect-server create-tenant --name N [--slug S]`.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import { createPool } from "../../shared/src/database/pool.ts";
import { createTenant, toSlug } from "../../domain/src/tenants.ts";

export function createTenantCommand(): Command {
  return new Command("create-tenant")
    .description("Create a tenant and print its id")
    .requiredOption("--name <name>", "the tenant's name")
    .option("--slug <slug>", "its unique slug (default: the name, slugified)")
    .option("-d, --database-url <url>", "the database to write to (default: the configured database.connection_url)")
    .action(async (options: { name: string; slug?: string; databaseUrl?: string }) => {
      const db = createPool(options.databaseUrl ?? config().database.connection_url, 1);
      try {
        const id = await createTenant(db, { name: options.name, slug: options.slug ?? toSlug(options.name) });
        console.log(`Tenant created with ID: ${id}`);
      } finally {
        await db.end();
      }
    });
}
