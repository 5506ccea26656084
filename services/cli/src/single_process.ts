// The whole server in one Node process (`prefect-server services all`, which `start --single-process` runs): the
// gateway in in-process mode (the data graph and the mutations service built inside it, no HTTP between them) and the
// towel, on one shared pool. The data graph keeps a pool of its own: its sessions carry the statement timeout that
// stops a runaway read, which the writes and the towel's passes must not have (docs/operations.md, "One process").
import type { Config } from "../../shared/src/config.ts";
import { createPool } from "../../shared/src/database/pool.ts";
import { logger, type Logger } from "../../shared/src/logger.ts";
import { trackPool } from "../../shared/src/metrics.ts";
import { defaultGraphileEnv, type RunningService } from "./registry.ts";

/** The name `services` takes for this layout, and under which `start --single-process` shows its lines. */
export const SINGLE_PROCESS_NAME = "all";

/** The configuration the single process runs with: the gateway builds its subgraphs in the process. */
export function singleProcessConfig(config: Config): Config {
  return { ...config, services: { ...config.services, gateway: { ...config.services.gateway, mode: "in_process" } } };
}

export async function startSingleProcess(given: Config, log: Logger): Promise<RunningService> {
  const config = singleProcessConfig(given);
  defaultGraphileEnv();
  // Loaded here, not at the top, so the CLI's other commands do not pay for them.
  const [gatewayModule, towelModule] = await Promise.all([import("../../gateway/src/index.ts"), import("../../towel/src/index.ts")]);
  // the mutations service's connections and the towel's, so that a towel pass never waits behind API writes
  const poolSize = config.database.pool_size + towelModule.POOL_SIZE;
  const db = createPool(config.database.connection_url, poolSize);
  trackPool(config, "shared", db);
  const started: RunningService[] = [];
  const stopAll = async () => {
    // The API first, so no request arrives while the towel stops; the pool once nothing uses it.
    for (const service of started.reverse()) await service.stop();
    await db.end();
  };
  try {
    started.push(await towelModule.startTowel(config, logger("towel"), { db }));
    started.push(await gatewayModule.start(config, logger("gateway"), { db }));
  } catch (error) {
    await stopAll();
    throw error;
  }
  log.info({ pool_size: poolSize, port: config.services.gateway.port }, "the server runs in one process");
  let stopping: Promise<void> | undefined;
  return { stop: () => (stopping ??= stopAll()) };
}
