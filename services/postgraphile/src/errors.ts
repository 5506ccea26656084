// What clients see of an error. GraphQL errors (validation, bad input) and our own SafeErrors pass unchanged;
// Postgres data exceptions (SQLSTATE class 22: an invalid timestamp, a malformed array literal…) pass with
// Postgres' message only, as Hasura did; integrity constraint violations (class 23, from table mutations) pass
// with Hasura's prefix ("Uniqueness violation. duplicate key value violates …", code constraint-violation);
// anything else is logged in full and replaced by a reference, so no SQL text, table internals or stack trace
// reaches a client.
import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { isSafeError } from "postgraphile/grafast";
import { CONSTRAINT_VIOLATIONS } from "../../domain/src/errors.ts";
import type { Logger } from "../../shared/src/logger.ts";

interface PgError extends Error {
  code?: string;
}

const isDataException = (error: PgError) => typeof error.code === "string" && /^22[0-9A-Z]{3}$/.test(error.code);

export function makeMaskError(log: Pick<Logger, "error">): (error: GraphQLError) => GraphQLError {
  return (error) => {
    const original = error.originalError as PgError | undefined;
    if (!original || original instanceof GraphQLError || isSafeError(original)) return error;
    if (isDataException(original)) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: "data-exception" },
      });
    }
    const violation = original.code ? CONSTRAINT_VIOLATIONS[original.code] : undefined;
    if (violation) {
      return new GraphQLError(`${violation}. ${original.message}`, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: "constraint-violation" },
      });
    }
    const reference = randomUUID();
    log.error({ err: original, reference, path: error.path }, "unexpected error while executing a GraphQL request");
    return new GraphQLError(`Unexpected error (reference ${reference}); the server log has the details.`, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: "unexpected" },
    });
  };
}
