// What clients see of an error. GraphQL errors (validation, bad input) and our own SafeErrors pass unchanged.
// Errors from Postgres never pass with Postgres's text (it can name internals and quote values back):
//   - a statement cancelled by the statement timeout says which limit stopped it and the setting that sets it;
//   - a data exception (SQLSTATE class 22: a value the column's type refuses) says what kind of value was wrong,
//     with Hasura's code `data-exception` (the scalars refuse almost all of these before any SQL runs);
//   - an integrity constraint violation (class 23, from table mutations) starts with Hasura's name for it
//     ("Uniqueness violation.", code constraint-violation) and names the constraint;
//   - anything else is logged in full and replaced by a reference.
import { randomUUID } from "node:crypto";
import { GraphQLError } from "graphql";
import { isSafeError } from "postgraphile/grafast";
import { CONSTRAINT_VIOLATIONS, dataExceptionText } from "../../domain/src/errors.ts";
import type { Logger } from "../../shared/src/logger.ts";

interface PgError extends Error {
  code?: string;
  constraint?: string;
  table?: string;
  column?: string;
}

export interface MaskErrorOptions {
  /** The data graph's statement timeout (services.postgraphile.statement_timeout_seconds), named in its error. */
  statementTimeoutSeconds: number;
}

const QUERY_CANCELED = "57014";

/** What each integrity constraint violation means, after Hasura's name for it. */
const VIOLATION_TEXTS: Readonly<Record<string, string>> = {
  "23505": "A row with the same values already exists",
  "23503": "The row refers to a row that does not exist, or other rows still refer to it",
  "23502": "A required column has no value",
  "23514": "The row fails a check",
};

/**
 * The code an error of execution is shown with once masked (makeMaskError): `statement-timeout`, `data-exception`,
 * `constraint-violation` or `unexpected`; undefined for an error shown unchanged (a GraphQL error, a SafeError).
 */
export function maskedCode(error: GraphQLError): string | undefined {
  const original = error.originalError as PgError | undefined;
  if (!original || original instanceof GraphQLError || isSafeError(original)) return undefined;
  if (original.code === QUERY_CANCELED) return "statement-timeout";
  if (dataExceptionText(original)) return "data-exception";
  if (original.code && CONSTRAINT_VIOLATIONS[original.code]) return "constraint-violation";
  return "unexpected";
}

export function makeMaskError(log: Pick<Logger, "error">, options: MaskErrorOptions): (error: GraphQLError) => GraphQLError {
  const masked = (error: GraphQLError, message: string, code: string) =>
    new GraphQLError(message, { nodes: error.nodes, path: error.path, extensions: { code } });
  return (error) => {
    const code = maskedCode(error);
    if (code === undefined) return error;
    const original = error.originalError as PgError;
    if (code === "statement-timeout") {
      return masked(
        error,
        `The query ran longer than the data graph allows (${options.statementTimeoutSeconds} s; services.postgraphile.statement_timeout_seconds) and was stopped. Ask for fewer rows: narrow \`where\`, lower \`limit\`, select fewer nested lists.`,
        code,
      );
    }
    if (code === "data-exception") return masked(error, dataExceptionText(original)!, code);
    if (code === "constraint-violation") {
      const what = VIOLATION_TEXTS[original.code!] ?? "The row conflicts with existing data";
      const where = original.column
        ? ` (column ${original.column}${original.table ? ` of ${original.table}` : ""})`
        : original.constraint
          ? ` (constraint ${original.constraint}${original.table ? ` of ${original.table}` : ""})`
          : "";
      return masked(error, `${CONSTRAINT_VIOLATIONS[original.code!]}. ${what}${where}.`, code);
    }
    const reference = randomUUID();
    log.error({ err: original, reference, path: error.path }, "unexpected error while executing a GraphQL request");
    return masked(error, `Unexpected error (reference ${reference}); the server log has the details.`, code);
  };
}
