// How errors reach the client (docs/v1-compatibility.md, Errors and scalars): an ApiError's text as it is; Postgres
// constraint violations as v1's fixed texts; a lost database as `Unable to connect to postgres.`; anything unexpected
// is logged and reported with v1's fixed internal-error text. Never a code containing `API_ERROR` (Core would re-send
// the request).
import type { GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { ApiError, fromDatabaseError } from "../../../domain/src/errors.ts";
import type { Logger } from "../../../shared/src/logger.ts";

export const INTERNAL_ERROR = "Unable to complete operation. An internal API error occurred.";
export const DATABASE_UNAVAILABLE = "Unable to connect to postgres.";

const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EPIPE", "57P01", "57P03"]);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && (CONNECTION_CODES.has(code) || code.startsWith("08"))) return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}

/** The formatError hook of the Apollo server. */
export function formatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original === error || original == null) return formatted; // a parse/validation/coercion error
    const mapped = fromDatabaseError(original);
    if (mapped instanceof ApiError) {
      return {
        message: mapped.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: mapped.code ?? "BAD_USER_INPUT" },
      };
    }
    if (isConnectionError(original)) {
      log.error({ err: original }, "database unavailable");
      return { message: DATABASE_UNAVAILABLE, locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
    if (original instanceof Error && original.name === "GraphQLError") return formatted;
    log.error({ err: original, path: formatted.path }, "unexpected error in a resolver");
    return { message: INTERNAL_ERROR, locations: formatted.locations, path: formatted.path, extensions: { code: "INTERNAL_SERVER_ERROR" } };
  };
}
