// The mutations service's operations in the metrics (shared/src/metrics.ts): an Apollo Server plugin timing each
// operation from the start of its request to its answer, and counting the error codes of the answer.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { operationLabel, type OperationMetrics } from "../../shared/src/metrics.ts";

export function operationMetricsPlugin<TContext extends BaseContext>(metrics: OperationMetrics): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ operation, response }) {
          const errors = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
          metrics.observe(operationLabel(operation), (performance.now() - started) / 1000, errors);
        },
      };
    },
  };
}
