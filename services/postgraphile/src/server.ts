// The data graph's HTTP server in this process: v1's Hasura-shaped GraphQL on PostGraphile.
//   POST /graphql, /v1alpha1/graphql   GraphQL (the second is v1's Hasura path)
//   GET  /health                       200 {"status":"ok"} (compose health checks)
//   GET  /metrics                      the Prometheus metrics (of every worker, in cluster mode: cluster.ts)
//   GET  /graphql from a browser       the playground, offline (shared/src/playground.ts); assets under /ruru-static/
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import type { Config } from "../../shared/src/config.ts";
import { closeServer, createHttpServer, installHealth, installMetrics, listen, Routes, serviceHttpOptions, type Handler } from "../../shared/src/http.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { metricsEnabled, OperationMetrics, trackPool, type MetricsSource } from "../../shared/src/metrics.ts";
import { installPlayground } from "../../shared/src/playground.ts";
import { GRAPHQL_PATHS, type RunningDataGraph } from "./service.ts";
import { createDataGraphPool, dataGraphLimits, makeDataGraphPreset } from "./preset.ts";

/** GraphQL on every path of GRAPHQL_PATHS (grafserv serves /graphql; the others are handed to it as /graphql). */
function installGraphQL(routes: Routes, handler: Handler): void {
  routes.add(GRAPHQL_PATHS, (request, response) => {
    const url = request.url ?? "";
    request.url = `/graphql${url.includes("?") ? url.slice(url.indexOf("?")) : ""}`;
    return handler(request, response);
  });
}

/**
 * Serves the data graph from this process (a single-process service, or one worker of a cluster). `metrics`: what
 * GET /metrics answers (a worker's: the whole cluster's, from its primary); default this process's.
 */
export async function serve(config: Config, log: Logger, { metrics }: { metrics?: MetricsSource } = {}): Promise<RunningDataGraph> {
  const settings = config.services.postgraphile;
  const limits = dataGraphLimits(config);
  const pool = createDataGraphPool(config.database.connection_url, { max: config.database.pool_size, statementTimeoutSeconds: limits.statementTimeoutSeconds });
  trackPool(config, "postgraphile", pool);
  const operations = metricsEnabled(config) ? new OperationMetrics("postgraphile") : undefined;
  const pgl = postgraphile(makeDataGraphPreset(pool, { log, enableTableMutations: settings.enable_table_mutations, limits, operations }));
  try {
    await pgl.getSchema(); // fail start-up on a missing table or an unreachable database
  } catch (error) {
    await Promise.resolve(pgl.release()).catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }
  const serv = pgl.createServ(grafserv);
  const graphql = serv.createHandler();
  const routes = new Routes();
  installHealth(routes);
  if (metricsEnabled(config)) installMetrics(routes, { authString: config.services.gateway.auth_string, source: metrics });
  installGraphQL(routes, installPlayground(routes, (request, response) => graphql(request, response), config.services.gateway.enable_playground));
  const server = createHttpServer(routes, log, serviceHttpOptions(config, "data graph", { internal: true, service: "postgraphile" }));
  const address = await listen(server, settings.port, settings.host);
  let stopping: Promise<void> | undefined;
  return {
    address,
    workers: () => [],
    stop: () =>
      (stopping ??= (async () => {
        await closeServer(server, true);
        await serv.release(); // also releases the PostGraphile instance
        await pool.end();
      })()),
  };
}
