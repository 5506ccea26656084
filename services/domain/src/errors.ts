// Errors the API reports to its clients, with v1's exact texts: Prefect Core and the UI match some of them
// literally (Core's create_project looks for "Uniqueness violation.").

/** An error whose message is shown to the API client as it is. `code` becomes the GraphQL extensions code. */
export class ApiError extends Error {
  override name = "ApiError";
  readonly code: string | undefined;

  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Hasura's name of each integrity constraint violation (Postgres SQLSTATE class 23). The data graph reports them
 * as Hasura did (`<name>. <Postgres message>`); v1's Python service turned two of them into fixed texts.
 */
export const CONSTRAINT_VIOLATIONS: Readonly<Record<string, string>> = {
  "23001": "Restrict violation",
  "23502": "Not-NULL violation",
  "23503": "Foreign key violation",
  "23505": "Uniqueness violation",
  "23514": "Check constraint violation",
  "23P01": "Exclusion violation",
};

export const UNIQUENESS_VIOLATION = `${CONSTRAINT_VIOLATIONS["23505"]}.`;
export const FOREIGN_KEY_VIOLATION = `${CONSTRAINT_VIOLATIONS["23503"]}.`;
export const PERMISSION_ERROR = "Unauthorized: permission error.";

/** v1 (through Hasura) reported these constraint failures with fixed texts; Postgres SQLSTATE → that error. */
const CONSTRAINT_ERRORS: Record<string, () => ApiError> = {
  "23505": () => new ApiError(UNIQUENESS_VIOLATION),
  "23503": () => new ApiError(FOREIGN_KEY_VIOLATION),
  "23514": () => new ApiError(PERMISSION_ERROR, "FORBIDDEN"),
};

/** Turns a Postgres constraint violation into v1's ApiError; any other error is returned unchanged. */
export function fromDatabaseError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const make = typeof code === "string" ? CONSTRAINT_ERRORS[code] : undefined;
  return make ? make() : error;
}
