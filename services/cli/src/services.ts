// `prefect-server services <name>`: runs one service in the foreground until SIGINT/SIGTERM.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import { logger } from "../../shared/src/logger.ts";
import { shutdownSignal, stopWhenSupervisorExits } from "./common.ts";
import { SERVICE_ALIASES, SERVICE_NAMES, loadService, resolveServiceName } from "./registry.ts";

export function servicesCommand(): Command {
  const aliases = Object.entries(SERVICE_ALIASES).map(([alias, name]) => `${alias} (= ${name})`);
  return new Command("services")
    .description("Run one service in the foreground")
    .argument("<name>", `one of ${SERVICE_NAMES.join(", ")}; v1's names ${aliases.join(", ")} also work`)
    .action(async (given: string) => {
      const name = resolveServiceName(given);
      const start = await loadService(name);
      // v1 reported "development" as the version of a service started from the CLI.
      process.env.PREFECT_SERVER_VERSION ??= "development";
      const shutdown = shutdownSignal();
      const stopWatching = stopWhenSupervisorExits();
      const service = await start(config(), logger(name));
      await shutdown.stopped;
      await service.stop();
      stopWatching();
      shutdown.release();
    });
}
