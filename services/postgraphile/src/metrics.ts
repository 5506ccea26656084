// The data graph's operations in the metrics (shared/src/metrics.ts): a plugin timing each operation's execution
// (its parsing and validation are cached per document by grafast) and counting its errors by the code the client
// sees once they are masked (errors.ts).
import { getOperationAST } from "graphql";
import { operationLabel, type AnsweredError, type OperationMetrics } from "../../shared/src/metrics.ts";
import { maskedCode } from "./errors.ts";

export function makeOperationMetricsPlugin(metrics: OperationMetrics): GraphileConfig.Plugin {
  return {
    name: "PrefectOperationMetricsPlugin",
    version: "1.0.0",
    grafast: {
      middleware: {
        async execute(next, event) {
          const started = performance.now();
          const { document, operationName } = event.args;
          const result = await next();
          const errors = Symbol.asyncIterator in result ? undefined : result.errors;
          const codes = errors?.map((error): AnsweredError => ({ extensions: { code: maskedCode(error) ?? error.extensions.code } }));
          metrics.observe(operationLabel(getOperationAST(document, operationName)), (performance.now() - started) / 1000, codes);
          return result;
        },
      },
    },
  };
}
