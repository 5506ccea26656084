// Hasura's scalars (uuid, timestamptz, jsonb, interval, _uuid) and the output formats v1's clients parse:
//   timestamptz  ISO-8601 in UTC with an explicit offset, as Postgres writes it in JSON: 2024-01-01T00:00:00.123456+00:00
//   interval     Postgres text (IntervalStyle postgres):                                  00:05:00, 1 day 02:00:00
//   jsonb        the JSON value itself;  uuid  lowercase text.
// The codecs below replace PostGraphile's own timestamptz/interval codecs (which format timestamps in the session
// time zone and turn intervals into objects) during introspection.
import type { GraphQLScalarTypeConfig } from "graphql";
import type { PgCodec } from "postgraphile/@dataplan/pg";
import { TYPES } from "postgraphile/@dataplan/pg";
import { sql } from "postgraphile/pg-sql2";
import { DATA_GRAPH_INPUTS } from "../../../domain/src/scalars.ts";

/** The kinds of column value the data graph knows, named like the GraphQL scalar each one maps to. */
export type ScalarName = "uuid" | "String" | "Int" | "Boolean" | "Float" | "timestamptz" | "jsonb" | "interval";

/** Maps a column codec to its scalar, or undefined for a type v1's schema never had. */
export function scalarForCodec(codec: PgCodec): ScalarName | undefined {
  switch (codec.name) {
    case "uuid":
      return "uuid";
    case "text":
    case "varchar":
    case "bpchar":
    case "char":
    case "name":
    case "citext":
      return "String";
    case "int2":
    case "int4":
      return "Int";
    case "bool":
      return "Boolean";
    case "float4":
    case "float8":
      return "Float";
    case "timestamptz":
      return "timestamptz";
    case "json":
    case "jsonb":
      return "jsonb";
    case "interval":
      return "interval";
    default:
      return undefined;
  }
}

/** Scalars Hasura's max/min accept (everything with an order except booleans and jsonb). */
export function isComparable(scalar: ScalarName): boolean {
  return scalar !== "Boolean" && scalar !== "jsonb";
}

/** Scalars with sum/avg/stddev/variance. */
export function isNumeric(scalar: ScalarName): boolean {
  return scalar === "Int" || scalar === "Float";
}

const config = (name: keyof typeof DATA_GRAPH_INPUTS): GraphQLScalarTypeConfig<unknown, unknown> => ({
  name,
  serialize: (value) => value,
  ...DATA_GRAPH_INPUTS[name],
});

/** Hasura's scalars, reading their input by the rules of services/domain/src/scalars.ts. */
export const scalarConfigs: Record<keyof typeof DATA_GRAPH_INPUTS, GraphQLScalarTypeConfig<unknown, unknown>> = {
  uuid: config("uuid"),
  timestamptz: config("timestamptz"),
  interval: config("interval"),
  _uuid: config("_uuid"),
  jsonb: config("jsonb"),
};

/** Postgres renders `…00.120000` as `…00.12` in JSON; v1 (Hasura) returned that text with `+00:00` appended. */
export function formatUtcTimestamp(text: string): string {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?$/.exec(text);
  if (!match) return text; // infinity / -infinity
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  return `${match[1]}${fraction ? `.${fraction}` : ""}+00:00`;
}

const timestamptzCodec: PgCodec = {
  ...TYPES.timestamptz,
  castFromPg: (fragment) => sql`to_char((${fragment}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'::text)`,
  listCastFromPg: undefined,
  fromPg: formatUtcTimestamp,
};

const intervalCodec: PgCodec = {
  ...TYPES.interval,
  castFromPg: (fragment) => sql`(${fragment})::text`,
  listCastFromPg: undefined,
  fromPg: (value: string) => value,
  toPg: (value: unknown) => String(value),
};

/** Codecs that replace PostGraphile's defaults for the pg_catalog type of the same name. */
export const REPLACEMENT_CODECS: Readonly<Record<string, PgCodec>> = {
  timestamptz: timestamptzCodec,
  interval: intervalCodec,
};
