// The postgraphile service: v1's Hasura-shaped data graph over HTTP (server.ts), served by this process or, with
// services.postgraphile.workers > 1, by worker processes sharing the port (cluster.ts).
import type { Config } from "../../shared/src/config.ts";
import type { Logger } from "../../shared/src/logger.ts";
import type { InProcessGraph } from "../../shared/src/graphql.ts";
import { startWorkers } from "./cluster.ts";
import { GRAPHQL_PATHS, type RunningDataGraph } from "./service.ts";

export type { RunningDataGraph };

/**
 * Starts the service on services.postgraphile.{host,port}, in this process or, with more than one worker, in
 * worker processes sharing the port (cluster.ts); resolves once it accepts requests.
 */
export async function start(config: Config, log: Logger): Promise<RunningDataGraph> {
  const settings = config.services.postgraphile;
  // the cluster's primary only holds the port: it never loads PostGraphile
  const running = settings.workers > 1 ? await startWorkers(config, log) : await (await import("./server.ts")).serve(config, log);
  log.info({ port: running.address.port, host: settings.host, paths: GRAPHQL_PATHS, workers: settings.workers }, "data graph listening");
  let stopping: Promise<void> | undefined;
  return { ...running, stop: () => (stopping ??= running.stop().then(() => log.info("data graph stopped"))) };
}

/** The data graph inside another process (the gateway's in-process mode); PostGraphile is loaded on this call. */
export async function inProcessDataGraph(config: Config, log: Logger): Promise<InProcessGraph> {
  return (await import("./in_process.ts")).inProcessDataGraph(config, log);
}
