// Entry point of the gateway (v1's "apollo" service): `start(config, log)` as the CLI's service registry expects.
// Listens on services.gateway.{host,port} at once (GET /health answers from the start) and composes the subgraphs
// in the background, retrying until they answer; GraphQL requests get 503 until the first composition.
import type { Config } from "../../shared/src/config.ts";
import { createPool, type Pool } from "../../shared/src/database/pool.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { Gateway } from "./gateway.ts";
import { listen, serviceHttpOptions } from "../../shared/src/http.ts";
import { metricsEnabled } from "../../shared/src/metrics.ts";
import { createGatewayServer } from "./server.ts";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";

export { Gateway } from "./gateway.ts";

export interface RunningGateway {
  /** The address actually bound (port 0 picks a free one). */
  address: AddressInfo;
  gateway: Gateway;
  stop(): Promise<void>;
}

/**
 * Under sustained load V8 lets the gateway's old generation grow to several times what is alive before it collects.
 * A growth factor of 1.2 after each major collection keeps it near what is alive, at the same throughput
 * (docs/benchmarks.md, "Gateway memory", has the figures). V8 reads this flag at every collection, so it takes
 * effect when set here; unlike a cap on the old generation it cannot make a burst of large requests fail.
 */
const HEAP_GROWING_PERCENT = 20;

export interface GatewayStartOptions {
  retryMs?: number;
  /**
   * The process's shared pool (the single-process server): GET /ready's check and, in in-process mode, the mutations
   * subgraph use it, and the gateway leaves it open when it stops.
   */
  db?: Pool;
}

export async function start(config: Config, log: Logger, options: GatewayStartOptions = {}): Promise<RunningGateway> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const settings = config.services.gateway;
  const gateway = await Gateway.create({ config, log, retryMs: options.retryMs, db: options.db });
  // One connection of its own for GET /ready's database check, unless the process shares a pool.
  const db = options.db ?? createPool(config.database.connection_url, 1);
  const releaseDb = () => (options.db ? Promise.resolve() : db.end());
  const server = createGatewayServer({
    gateway,
    bodyLimit: settings.body_limit,
    authString: settings.auth_string,
    enablePlayground: settings.enable_playground,
    enableMetrics: metricsEnabled(config),
    http: serviceHttpOptions(config, "gateway", { internal: false, service: "gateway" }),
    databaseCheck: async () => {
      await db.query("select 1");
    },
    log,
  });
  let address: AddressInfo;
  try {
    address = await listen(server, settings.port, settings.host);
  } catch (error) {
    await gateway.stop();
    await releaseDb();
    throw error;
  }
  log.info({ host: settings.host, port: address.port, mode: settings.mode, auth: settings.auth_string !== "" }, "gateway listening");
  let stopping: Promise<void> | undefined;
  gateway.start().catch((error: unknown) => {
    if (!stopping) log.error({ err: error }, "the gateway could not start");
  });
  return {
    address,
    gateway,
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await gateway.stop();
        server.closeAllConnections();
        await closed;
        await releaseDb();
        log.info("gateway stopped");
      })()),
  };
}
