// The service scalars UUID, JSON and DateTime with v1's input rules (services/domain/src/scalars.ts; docs/v1-compatibility.md,
// Errors and scalars):
// - UUID: validated and normalised to the canonical lowercase form (`Could not parse UUID: <v>`);
// - JSON: variables pass through; an inline literal is a string holding JSON text and is decoded;
// - DateTime: ISO-8601 read leniently (offsets, `Z`, up to microseconds, date-only, naive = UTC) and kept as a
//   canonical ISO string so no sub-millisecond precision is lost on its way to Postgres.
import { GraphQLError, GraphQLScalarType } from "graphql";
import { normaliseDateTime } from "../../../domain/src/inputs.ts";
import { DATE_TIME_INPUT, JSON_INPUT, UUID_INPUT } from "../../../domain/src/scalars.ts";

export const UUIDScalar = new GraphQLScalarType({
  name: "UUID",
  serialize: (value) => (typeof value === "string" ? value : String(value)),
  ...UUID_INPUT,
});

export const JSONScalar = new GraphQLScalarType({ name: "JSON", serialize: (value) => value, ...JSON_INPUT });

export const DateTimeScalar = new GraphQLScalarType({
  name: "DateTime",
  serialize(value) {
    const parsed = normaliseDateTime(value);
    if (parsed === undefined) throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
    return parsed;
  },
  ...DATE_TIME_INPUT,
});
