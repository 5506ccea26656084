// The data graph inside another process (the gateway's in-process mode): PostGraphile's schema with its own pool,
// executed by grafast, errors masked as the service masks them.
import { grafast } from "postgraphile/grafast";
import type { GraphQLError, GraphQLFormattedError } from "graphql";
import type { Config } from "../../shared/src/config.ts";
import type { GraphQLResponse, InProcessGraph } from "../../shared/src/graphql.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { metricsEnabled, OperationMetrics, trackPool } from "../../shared/src/metrics.ts";
import { makeMaskError } from "./errors.ts";
import { dataGraphLimits, makeDataGraphSchema } from "./preset.ts";

const formatted = (error: GraphQLError): GraphQLFormattedError => error.toJSON();

export async function inProcessDataGraph(config: Config, log: Logger): Promise<InProcessGraph> {
  const limits = dataGraphLimits(config);
  const graph = await makeDataGraphSchema({
    connectionString: config.database.connection_url,
    poolSize: config.database.pool_size,
    enableTableMutations: config.services.postgraphile.enable_table_mutations,
    limits,
    log,
    operations: metricsEnabled(config) ? new OperationMetrics("postgraphile") : undefined,
  });
  trackPool(config, "postgraphile", graph.pool);
  const maskError = makeMaskError(log, limits);
  return {
    async send(request, _headers, signal) {
      const result = await grafast({
        schema: graph.schema,
        resolvedPreset: graph.resolvedPreset,
        requestContext: signal ? { signal } : {},
        source: request.query,
        variableValues: request.variables ?? undefined,
        operationName: request.operationName ?? undefined,
      });
      if (Symbol.asyncIterator in result) throw new Error("streamed results are not supported");
      const response: GraphQLResponse = {};
      if (result.errors) response.errors = result.errors.map((error) => formatted(maskError(error)));
      if ("data" in result) response.data = result.data as Record<string, unknown> | null;
      if (result.extensions) response.extensions = result.extensions as Record<string, unknown>;
      return response;
    },
    async ping() {
      await graph.pool.query("select 1");
    },
    close: () => graph.release(),
  };
}
