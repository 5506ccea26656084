// `prefect-server start`: infrastructure, migrations and every available service in one command (`make dev`).
import { Command } from "commander";
import { runServices, whileInfrastructureRuns } from "./dev.ts";
import type { Infrastructure } from "./infrastructure.ts";
import { SERVICE_NAMES } from "./registry.ts";

export function startCommand(): Command {
  return new Command("start")
    .description("Run the whole server: Postgres and Redis, the migrations and every service, until Ctrl-C")
    .option("--skip-upgrade", "do not apply the database migrations")
    .option("--single-process", "run every service in one Node process (less memory; one process to watch)")
    .action(async (options: { skipUpgrade?: boolean; singleProcess?: boolean }) => {
      process.exitCode = await whileInfrastructureRuns(options, (infrastructure, stopped) =>
        runServices([...SERVICE_NAMES], {
          env: serviceEnvironment(infrastructure),
          keepRunningWithoutServices: true,
          stopped,
          singleProcess: options.singleProcess,
        }),
      );
    });
}

/** The settings that point a service at the infrastructure in use (scheme names, which win over shorthands). */
export function serviceEnvironment(infrastructure: Infrastructure): NodeJS.ProcessEnv {
  return {
    DATABASE_URL: infrastructure.databaseUrl,
    PREFECT_SERVER__DATABASE__CONNECTION_URL: infrastructure.databaseUrl,
    REDIS_URL: infrastructure.redisUrl ?? "",
    PREFECT_SERVER__REDIS__URL: infrastructure.redisUrl ?? "",
    PREFECT_SERVER__QUEUE__BACKEND: infrastructure.queueBackend,
  };
}
