// A validation rule graphql-js 16 lacks: an operation whose root type the schema does not have (a mutation while
// table mutations are off) is a validation error, not an internal error at planning time.
import { GraphQLError, type ASTVisitor, type ValidationContext } from "graphql";

export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (!context.getSchema().getRootType(node.operation)) {
        context.reportError(new GraphQLError(`Schema is not configured to execute ${node.operation} operation.`, { nodes: node }));
      }
    },
  };
}

/** Adds KnownOperationTypesRule to grafserv's validation. */
export const KnownOperationTypesPlugin: GraphileConfig.Plugin = {
  name: "PrefectKnownOperationTypesPlugin",
  version: "1.0.0",
  grafserv: {
    middleware: {
      setPreset(next, event) {
        event.validationRules.push(KnownOperationTypesRule);
        return next();
      },
    },
  },
};
