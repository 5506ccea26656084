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

export const UNIQUENESS_VIOLATION = "Uniqueness violation.";
export const FOREIGN_KEY_VIOLATION = "Foreign key violation.";
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
