// The service scalars UUID, JSON and DateTime with v1's input rules (spec §3.0, clients.md §0.6):
// - UUID: validated and normalised to the canonical lowercase form (`Could not parse UUID: <v>`);
// - JSON: variables pass through; an inline literal is a string holding JSON text and is decoded;
// - DateTime: ISO-8601 read leniently (offsets, `Z`, up to microseconds, date-only, naive = UTC) and kept as a
//   canonical ISO string so no sub-millisecond precision is lost on its way to Postgres.
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from "graphql";

const UUID_PATTERN = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** The canonical lowercase form of a UUID written in any of the forms Python's uuid.UUID accepts, or undefined. */
export function normaliseUuid(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = UUID_PATTERN.exec(value.trim());
  return match ? match.slice(1).join("-").toLowerCase() : undefined;
}

function parseUuid(value: unknown): string {
  const uuid = normaliseUuid(value);
  if (uuid === undefined) throw new GraphQLError(`Could not parse UUID: ${String(value)}`);
  return uuid;
}

export const UUIDScalar = new GraphQLScalarType({
  name: "UUID",
  serialize: (value) => (typeof value === "string" ? value : String(value)),
  parseValue: parseUuid,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`Could not parse UUID: ${printLiteral(ast)}`);
    return parseUuid(ast.value);
  },
});

export const JSONScalar = new GraphQLScalarType({
  name: "JSON",
  serialize: (value) => value,
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
});

const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Reads an ISO-8601 date-time (`2020-01-01`, `2020-01-01T10:00`, `2020-01-01 10:00:00.123456+02:00`, `...Z`) and
 * returns it as `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM`, keeping the offset; text without an offset is UTC.
 * Returns undefined for anything else, including impossible dates.
 */
export function normaliseDateTime(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString().replace("Z", "+00:00");
  if (typeof value !== "string") return undefined;
  const match = DATE_TIME_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", zone] = match;
  const probe = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  if (
    probe.getUTCFullYear() !== Number(year) ||
    probe.getUTCMonth() !== Number(month) - 1 ||
    probe.getUTCDate() !== Number(day) ||
    probe.getUTCHours() !== Number(hour) ||
    probe.getUTCMinutes() !== Number(minute) ||
    probe.getUTCSeconds() !== Number(second)
  ) {
    return undefined;
  }
  let offset = "+00:00";
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || "0");
    if (hours > 23 || minutes > 59) return undefined;
    offset = `${zone[0]}${digits.slice(0, 2)}:${(digits.slice(2) || "00").padEnd(2, "0")}`;
  }
  const micros = fraction.slice(0, 6).padEnd(6, "0");
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${micros}${offset}`;
}

function parseDateTime(value: unknown): string {
  const parsed = normaliseDateTime(value);
  if (parsed === undefined) throw new GraphQLError(`Could not parse DateTime: ${String(value)}`);
  return parsed;
}

export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  serialize(value) {
    const parsed = normaliseDateTime(value);
    if (parsed === undefined) throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    return parsed;
  },
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`Could not parse DateTime: ${printLiteral(ast)}`);
    return parseDateTime(ast.value);
  },
});

function printLiteral(ast: ValueNode): string {
  return JSON.stringify(valueFromASTUntyped(ast));
}
