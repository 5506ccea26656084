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

/** What each data exception (Postgres SQLSTATE class 22) means, in our words. */
const DATA_EXCEPTIONS: Readonly<Record<string, string>> = {
  "22001": "a text value is longer than its column allows",
  "22003": "a number is out of the range its column allows",
  "22007": "a timestamp or interval is not in a format the database reads",
  "22008": "a timestamp is out of the range the database can store",
  "22012": "a division by zero",
  "2201B": "a regular expression is not valid",
  "2202E": "an array index is out of range",
  "22021": "a text value holds a character the database cannot store (such as \\u0000)",
  "22P02": "a value is not in the format its type needs (uuid, number, array or JSON)",
  "22P05": "a text value holds a character the database cannot store (such as \\u0000)",
};

/**
 * The text of a data exception (SQLSTATE class 22: a value the column's type refuses), never Postgres's own
 * (which quotes the value back and names types); undefined for any other error. The API checks inputs before they
 * reach the database, so this is the last line.
 */
export function dataExceptionText(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !/^22[0-9A-Z]{3}$/.test(code)) return undefined;
  return `The database refused a value of the request: ${DATA_EXCEPTIONS[code] ?? "a value is not valid for its column"}.`;
}

/**
 * Turns a Postgres constraint violation into v1's ApiError, and a data exception into an ApiError in our words;
 * any other error is returned unchanged.
 */
export function fromDatabaseError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const make = typeof code === "string" ? CONSTRAINT_ERRORS[code] : undefined;
  if (make) return make();
  const text = dataExceptionText(error);
  return text ? new ApiError(text) : error;
}
