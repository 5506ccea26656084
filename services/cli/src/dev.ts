// `prefect-server dev services` and `prefect-server dev infrastructure`.
import { Command } from "commander";
import { config } from "../../shared/src/config.ts";
import { commaList, shutdownSignal } from "./common.ts";
import { banner } from "./banner.ts";
import { startInfrastructure, type Infrastructure } from "./infrastructure.ts";
import { isAvailable, selectServices, type ServiceName } from "./registry.ts";
import { Supervisor, serviceChild, singleProcessChild } from "./supervisor.ts";

export function devCommand(): Command {
  const dev = new Command("dev").description("Commands for developing Prefect Server");

  dev
    .command("services")
    .description("Run the services, each in its own process, until Ctrl-C")
    .option("-i, --include <names>", "only these services (comma-separated; v1 names work)", commaList)
    .option("-e, --exclude <names>", "all services but these (comma-separated; v1 names work)", commaList)
    .action(async (options: { include?: string[]; exclude?: string[] }) => {
      const names = selectServices(options.include, options.exclude);
      process.exitCode = await runServices(names, { keepRunningWithoutServices: false });
    });

  dev
    .command("infrastructure")
    .description("Make Postgres and Redis available (configured, docker compose or embedded) until Ctrl-C")
    .option("--skip-upgrade", "do not apply the database migrations")
    .action(async (options: { skipUpgrade?: boolean }) => {
      process.exitCode = await whileInfrastructureRuns(options, async (_infrastructure, stopped) => {
        console.log("Press Ctrl-C to stop.");
        await stopped;
        return 0;
      });
    });

  return dev;
}

/**
 * Brings up the infrastructure and prints the banner, then runs `work` (given a promise of Ctrl-C / SIGTERM) and
 * stops the infrastructure once `work` is done, whatever happened. Resolves to `work`'s exit status.
 */
export async function whileInfrastructureRuns(
  options: { skipUpgrade?: boolean },
  work: (infrastructure: Infrastructure, stopped: Promise<void>) => Promise<number>,
): Promise<number> {
  const cfg = config();
  const shutdown = shutdownSignal();
  try {
    const infrastructure = await startInfrastructure(cfg, { skipUpgrade: options.skipUpgrade, signal: shutdown.signal });
    try {
      for (const line of banner(infrastructure, cfg)) console.log(line);
      return await work(infrastructure, shutdown.stopped);
    } finally {
      await infrastructure.stop();
    }
  } finally {
    shutdown.release();
  }
}

export interface RunServicesOptions {
  /** Variables the children get on top of ours (the infrastructure's URLs). */
  env?: NodeJS.ProcessEnv;
  /** With none of the services built yet: wait for Ctrl-C anyway (`start`) instead of returning at once. */
  keepRunningWithoutServices: boolean;
  /** Resolves when the caller's Ctrl-C / SIGTERM arrives; created here when not given. */
  stopped?: Promise<void>;
  /** Run the services in one process (`services all`) instead of one process each; needs all of them built. */
  singleProcess?: boolean;
}

/**
 * Runs the available ones of `names` under a Supervisor until Ctrl-C / SIGTERM (exit status 0) or until one of
 * them exits by itself (its status, after the others are stopped).
 */
export async function runServices(names: ServiceName[], options: RunServicesOptions): Promise<number> {
  const available = names.filter(isAvailable);
  const missing = names.filter((name) => !isAvailable(name));
  if (missing.length) console.log(`Not built yet: ${missing.join(", ")}.`);
  const own = options.stopped ? undefined : shutdownSignal();
  const stopped = options.stopped ?? own!.stopped;
  try {
    if (available.length === 0) {
      if (!options.keepRunningWithoutServices) {
        console.log("None of the selected services is available yet; nothing to run.");
        return 0;
      }
      console.log("No service is available yet; press Ctrl-C to stop.");
      await stopped;
      return 0;
    }
    const env = { ...process.env, ...options.env };
    const single = options.singleProcess && missing.length === 0;
    if (options.singleProcess && !single) console.log("Not every service is built: running the built ones one process each.");
    console.log(`Starting ${available.join(", ")}${single ? " in one process" : ""}…`);
    const supervisor = new Supervisor(single ? [singleProcessChild(env)] : available.map((name) => serviceChild(name, env)));
    const crashed = await Promise.race([supervisor.done.then(() => true), stopped.then(() => false)]);
    return crashed ? supervisor.done : supervisor.stop();
  } finally {
    own?.release();
  }
}
