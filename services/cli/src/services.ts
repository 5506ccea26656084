// `prefect-server services <name>`: runs one service (or, with `all`, every service in one process) in the foreground
// until SIGINT/SIGTERM.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import { logger } from "../../shared/src/logger.ts";
import { shutdownSignal, stopWhenSupervisorExits } from "./common.ts";
import { SERVICE_ALIASES, SERVICE_NAMES, loadService, resolveServiceName, type ServiceName, type StartService } from "./registry.ts";
import { SINGLE_PROCESS_NAME, startSingleProcess } from "./single_process.ts";

export function servicesCommand(): Command {
  const aliases = Object.entries(SERVICE_ALIASES).map(([alias, name]) => `${alias} (= ${name})`);
  return new Command("services")
    .description("Run one service in the foreground, or all of them in this one process")
    .argument(
      "<name>",
      `one of ${SERVICE_NAMES.join(", ")}; v1's names ${aliases.join(", ")} also work; ${SINGLE_PROCESS_NAME}: every service in this process`,
    )
    .action(async (given: string) => {
      const all = given.trim().toLowerCase() === SINGLE_PROCESS_NAME;
      const name = all ? SINGLE_PROCESS_NAME : resolveServiceName(given);
      const start: StartService = all ? startSingleProcess : await loadService(name as ServiceName);
      // v1 reported "development" as the version of a service started from the CLI.
      process.env.PREFECT_SERVER_VERSION ??= "development";
      const log = logger(name);
      const shutdown = shutdownSignal(log);
      const stopWatching = stopWhenSupervisorExits();
      const service = await start(config(), log);
      await shutdown.stopped;
      // A service whose dependencies vanished (its database gone, say) may never finish stopping, or leave
      // handles open: exit anyway once the deadline passes, so SIGTERM always ends the process.
      const timeoutSeconds = config().services.stop_timeout_seconds;
      setTimeout(() => {
        log.error(`${name} did not stop within ${timeoutSeconds} s; exiting anyway`);
        process.exit(1);
      }, timeoutSeconds * 1000).unref();
      await service.stop();
      stopWatching();
      shutdown.release();
    });
}
