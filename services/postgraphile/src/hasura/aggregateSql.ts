// The SQL of Hasura's aggregate functions, shared by `<table>_aggregate` fields and aggregate order_by.
import { TYPES, type PgCodec } from "postgraphile/@dataplan/pg";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { comparableColumns, numericColumns, type ColumnModel, type TableModel } from "./model.ts";

/** In Hasura's field order (after `count`). */
export const AGGREGATE_FUNCTIONS = [
  "max",
  "min",
  "avg",
  "stddev",
  "stddev_pop",
  "stddev_samp",
  "sum",
  "var_pop",
  "var_samp",
  "variance",
] as const;

export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/** The columns an aggregate function applies to: max/min take every comparable column, the rest numeric ones. */
export function columnsForFunction(table: TableModel, fn: AggregateFunction): readonly ColumnModel[] {
  return fn === "max" || fn === "min" ? comparableColumns(table) : numericColumns(table);
}

/** `fn(alias.column)` with the casts that make every result decode with `aggregateCodec`. */
const FUNCTION_SQL: Record<AggregateFunction, SQL> = {
  max: sql`max`,
  min: sql`min`,
  avg: sql`avg`,
  stddev: sql`stddev`,
  stddev_pop: sql`stddev_pop`,
  stddev_samp: sql`stddev_samp`,
  sum: sql`sum`,
  var_pop: sql`var_pop`,
  var_samp: sql`var_samp`,
  variance: sql`variance`,
};

export function aggregateExpression(fn: AggregateFunction, column: ColumnModel, alias: SQL): SQL {
  const value = sql`${alias}.${sql.identifier(column.name)}`;
  switch (fn) {
    case "max":
    case "min":
      // Postgres has no max(uuid)/min(uuid); the canonical text sorts bytewise in the C collation.
      return column.scalar === "uuid"
        ? sql`${FUNCTION_SQL[fn]}(${value}::text collate "C")::uuid`
        : sql`${FUNCTION_SQL[fn]}(${value})`;
    case "sum":
      return column.scalar === "Int" ? sql`sum(${value})::bigint` : sql`sum(${value})::float8`;
    default:
      return sql`${FUNCTION_SQL[fn]}(${value})::float8`;
  }
}

/** The codec of `aggregateExpression(fn, column)`. */
export function aggregateCodec(fn: AggregateFunction, column: ColumnModel): PgCodec {
  if (fn === "max" || fn === "min") return column.codec;
  if (fn === "sum") return column.scalar === "Int" ? TYPES.bigint : TYPES.float;
  return TYPES.float;
}

/** The GraphQL output scalar of `fn` over `column`: max/min keep the column's, sum keeps Int, the rest are Float. */
export function aggregateScalar(fn: AggregateFunction, column: ColumnModel): string {
  if (fn === "max" || fn === "min") return column.scalar;
  if (fn === "sum") return column.scalar === "Int" ? "Int" : "Float";
  return "Float";
}
