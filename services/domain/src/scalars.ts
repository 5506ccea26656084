// How every custom scalar of the API reads its input, in one place: the subgraph that defines a scalar builds it
// from these rules, and the gateway gives them to the same scalars of the composed schema, so that a malformed value
// is refused before any subgraph or database sees it, with the same text and HTTP status on every path
// (docs/security.md, Bad input).
//   mutations service   UUID, DateTime, JSON       (v1's Python service: `Could not parse UUID: <v>` …)
//   data graph          uuid, timestamptz, interval, _uuid, jsonb   (Hasura's; Postgres read them in v1, and its
//                       texts reached clients: ours name the scalar and the form expected instead)
import { GraphQLError, Kind, valueFromASTUntyped, type ValueNode } from "graphql";
import { normaliseDateTime, normaliseUuid } from "./inputs.ts";

/** The input half of a scalar: what a variable's value and a literal in the document become. */
export interface ScalarInput {
  parseValue(value: unknown): unknown;
  parseLiteral(ast: ValueNode, variables?: Record<string, unknown> | null): unknown;
}

const printLiteral = (ast: ValueNode): string => JSON.stringify(valueFromASTUntyped(ast));

/** A scalar written as a string, read by `parse` (which throws a GraphQLError for a malformed one). */
function fromString(parse: (value: string) => unknown, notString: (shown: string) => string): ScalarInput {
  return {
    parseValue(value) {
      if (typeof value !== "string") throw new GraphQLError(notString(JSON.stringify(value) ?? String(value)));
      return parse(value);
    },
    parseLiteral(ast) {
      if (ast.kind !== Kind.STRING) throw new GraphQLError(notString(printLiteral(ast)));
      return parse(ast.value);
    },
  };
}

// ---- the mutations service ------------------------------------------------------------------------------------------

/** The canonical lowercase form of a UUID (v1's Python service accepted what uuid.UUID accepts). */
export function parseUuid(value: unknown): string {
  const uuid = normaliseUuid(value);
  if (uuid === undefined) throw new GraphQLError(`Could not parse UUID: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  return uuid;
}

function parseDateTime(value: unknown): string {
  const parsed = normaliseDateTime(value);
  if (parsed === undefined) throw new GraphQLError(`Could not parse DateTime: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  return parsed;
}

export const UUID_INPUT: ScalarInput = {
  parseValue: parseUuid,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`Could not parse UUID: ${printLiteral(ast)}`);
    return parseUuid(ast.value);
  },
};

export const DATE_TIME_INPUT: ScalarInput = {
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`Could not parse DateTime: ${printLiteral(ast)}`);
    return parseDateTime(ast.value);
  },
};

/** JSON: variables pass through; an inline literal is a string holding JSON text (v1), or a JSON-shaped literal. */
export const JSON_INPUT: ScalarInput = {
  parseValue: (value) => value,
  parseLiteral(ast, variables) {
    if (ast.kind === Kind.STRING) {
      try {
        return JSON.parse(ast.value) as unknown;
      } catch {
        throw new GraphQLError(`Could not parse JSON: ${ast.value}`);
      }
    }
    // Object, list, number, boolean and null literals are taken as the JSON value they spell (v1 accepted only
    // strings; accepting more breaks no client).
    return valueFromASTUntyped(ast, variables);
  },
};

// ---- the data graph -------------------------------------------------------------------------------------------------

/** A uuid of the data graph, canonical lowercase. */
export function parseDataGraphUuid(value: unknown): string {
  const uuid = normaliseUuid(value);
  if (uuid === undefined) throw new GraphQLError(`Could not parse uuid: ${JSON.stringify(value)} (expected a UUID such as 8f6b0e5c-0d9e-4a43-9a43-1f1f8b0c2a11)`);
  return uuid;
}

/** Hasura's `_uuid`, a Postgres array literal such as `{a,b}` (spaces and quotes allowed), as canonical uuids. */
export function parseUuidArray(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(parseDataGraphUuid);
  if (typeof value !== "string" || !/^\s*\{.*\}\s*$/s.test(value)) {
    throw new GraphQLError(`Could not parse _uuid: ${JSON.stringify(value)} (expected UUIDs written as a Postgres array, such as "{a,b}")`);
  }
  const body = value.trim().slice(1, -1).trim();
  if (body === "") return [];
  return body.split(",").map((item) => parseDataGraphUuid(item.trim().replace(/^"(.*)"$/, "$1")));
}

/** Postgres's special timestamp inputs, passed on as they are. */
const SPECIAL_TIMESTAMPS = new Set(["now", "today", "tomorrow", "yesterday", "epoch", "infinity", "-infinity"]);

/**
 * A timestamptz: an ISO-8601 date-time as the mutations service reads it (date only, `T` or a space, an offset or
 * `Z`, none = UTC) or one of Postgres's special values (`now`, `infinity` …).
 */
function parseTimestamptz(value: string): string {
  if (SPECIAL_TIMESTAMPS.has(value.trim().toLowerCase())) return value.trim();
  const parsed = normaliseDateTime(value);
  if (parsed === undefined) {
    throw new GraphQLError(`Could not parse timestamptz: ${JSON.stringify(value)} (expected an ISO-8601 timestamp such as 2024-01-01T00:00:00+00:00)`);
  }
  return parsed;
}

/** An interval: Postgres's interval syntax uses letters, digits, spaces and `:.+-` only, within 100 characters. */
function parseInterval(value: string): string {
  if (value.length > 100 || !/^[\w\s:.+-]+$/.test(value)) {
    throw new GraphQLError(`Could not parse interval: ${JSON.stringify(value.slice(0, 100))} (expected a Postgres interval such as 00:05:00 or "1 day")`);
  }
  return value;
}

const expectsString = (name: string, what: string) => (shown: string) => `${name} expects a string (${what}), got ${shown}`;

/** The data graph's scalars, by name. `_uuid` stays the text it was (it is an array literal the SQL reads). */
export const DATA_GRAPH_INPUTS: Readonly<Record<"uuid" | "timestamptz" | "interval" | "_uuid" | "jsonb", ScalarInput>> = {
  uuid: fromString(parseDataGraphUuid, expectsString("uuid", "a UUID")),
  timestamptz: fromString(parseTimestamptz, expectsString("timestamptz", "an ISO-8601 timestamp")),
  interval: fromString(parseInterval, expectsString("interval", "a Postgres interval such as 00:05:00")),
  _uuid: fromString((value) => (parseUuidArray(value), value), expectsString("_uuid", 'a Postgres array literal such as "{a,b}"')),
  jsonb: { parseValue: (value) => value, parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables) },
};

/** Every custom scalar of the API (both subgraphs), by name: what the gateway checks. */
export const SCALAR_INPUTS: Readonly<Record<string, ScalarInput>> = {
  UUID: UUID_INPUT,
  DateTime: DATE_TIME_INPUT,
  JSON: JSON_INPUT,
  ...DATA_GRAPH_INPUTS,
};
