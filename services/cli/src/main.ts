// The `prefect-server` CLI (bin/prefect-server.js runs this file).
import { Command } from "commander";
import { CliError, describeError } from "./common.ts";
import { concurrencyCommand } from "./concurrency.ts";
import { databaseCommand } from "./database.ts";
import { devCommand } from "./dev.ts";
import { servicesCommand } from "./services.ts";
import { startCommand } from "./start.ts";
import { createTenantCommand } from "./tenant.ts";

export function createProgram(): Command {
  return new Command("prefect-server")
    .description("The Prefect Server CLI")
    .showHelpAfterError("(run with --help for usage)")
    .addCommand(databaseCommand())
    .addCommand(devCommand())
    .addCommand(servicesCommand())
    .addCommand(startCommand())
    .addCommand(createTenantCommand())
    .addCommand(concurrencyCommand());
}

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    if (error.exitCode === 0) console.log(error.message);
    else console.error(`Error: ${error.message}`);
    process.exitCode = error.exitCode;
  } else {
    console.error(`Error: ${describeError(error)}`);
    process.exitCode = 1;
  }
}
