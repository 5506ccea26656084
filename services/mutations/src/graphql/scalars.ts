// The service scalars UUID, JSON and DateTime with v1's input rules (docs/v1-compatibility.md, Errors and scalars):
// - UUID: validated and normalised to the canonical lowercase form (`Could not parse UUID: <v>`);
// - JSON: variables pass through; an inline literal is a string holding JSON text and is decoded;
// - DateTime: ISO-8601 read leniently (offsets, `Z`, up to microseconds, date-only, naive = UTC) and kept as a
//   canonical ISO string so no sub-millisecond precision is lost on its way to Postgres.
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from "graphql";
import { normaliseDateTime, normaliseUuid } from "../../../domain/src/inputs.ts";

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
