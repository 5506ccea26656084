// `enum order_by`, `<table>_order_by`, `<table>_aggregate_order_by` (+ per-function `_max_order_by` …), and the
// compiler from an `order_by` value to ORDER BY terms.
//
// Hasura: `asc` is ASC NULLS LAST and `desc` is DESC NULLS FIRST; the keys of one object apply in the order the
// client wrote them (normalize.ts splits multi-key objects before GraphQL coercion reorders them); an object
// relationship orders by the related row's value, an array relationship by an aggregate over its rows.
import type { GraphQLInputFieldConfigMap } from "graphql";
import { TYPES, type PgCodec } from "postgraphile/@dataplan/pg";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { aggregateExpression, AGGREGATE_FUNCTIONS, columnsForFunction, type AggregateFunction } from "./aggregateSql.ts";
import type { DataGraphModel, RelationshipModel, TableModel } from "./model.ts";
import { names } from "./names.ts";
import type { SchemaTypes } from "./types.ts";

export const ORDER_BY_VALUES = {
  asc: { direction: "ASC", nulls: "LAST" },
  asc_nulls_first: { direction: "ASC", nulls: "FIRST" },
  asc_nulls_last: { direction: "ASC", nulls: "LAST" },
  desc: { direction: "DESC", nulls: "FIRST" },
  desc_nulls_first: { direction: "DESC", nulls: "FIRST" },
  desc_nulls_last: { direction: "DESC", nulls: "LAST" },
} as const;

export type OrderByValue = keyof typeof ORDER_BY_VALUES;

export interface OrderTerm {
  /** The value to order by, for rows aliased `alias`. */
  expression: (alias: SQL) => SQL;
  codec: PgCodec;
  direction: "ASC" | "DESC";
  nulls: "FIRST" | "LAST";
  /** Set when the term is a plain column of the ordered table (distinct_on checks against these). */
  column: string | null;
}

const asList = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? value : [value as T]);

/** ORDER BY terms for `orderBy` (a list of `<table>_order_by` objects, or one object), in significance order. */
export function compileOrderBy(table: TableModel, orderBy: unknown): OrderTerm[] {
  if (orderBy == null) return [];
  return asList(orderBy).flatMap((item) => termsFor(table, item as Record<string, unknown>));
}

function termsFor(table: TableModel, item: Record<string, unknown> | null): OrderTerm[] {
  if (item == null) return [];
  const terms: OrderTerm[] = [];
  for (const [key, value] of Object.entries(item)) {
    if (value == null) continue;
    const column = table.column.get(key);
    if (column) {
      terms.push({ ...direction(value as OrderByValue), expression: (alias) => sql`${alias}.${sql.identifier(key)}`, codec: column.codec, column: key });
      continue;
    }
    const relationship = table.relationship.get(key);
    if (relationship?.kind === "object") {
      for (const inner of termsFor(relationship.target, value as Record<string, unknown>)) {
        terms.push({ ...inner, column: null, expression: (alias) => relatedScalar(relationship, alias, inner.expression) });
      }
      continue;
    }
    const aggregated = [...table.relationship.values()].find(
      (r) => r.kind === "array" && names.relationshipAggregate(r.name) === key,
    );
    if (aggregated) {
      terms.push(...aggregateTerms(aggregated, value as Record<string, unknown>));
      continue;
    }
    throw new Error(`Unknown field ${key} in ${names.orderBy(table.name)}`);
  }
  return terms;
}

function direction(value: OrderByValue): Pick<OrderTerm, "direction" | "nulls"> {
  const spec = ORDER_BY_VALUES[value];
  if (!spec) throw new Error(`Unknown order_by value ${String(value)}`);
  return { direction: spec.direction, nulls: spec.nulls };
}

/** `(select <expression over the related row> from target where join)`: one value per row of the source. */
function relatedScalar(relationship: RelationshipModel, alias: SQL, expression: (alias: SQL) => SQL): SQL {
  const remote = sql.identifier(Symbol(relationship.target.name));
  return sql`(select ${expression(remote)} from ${relationship.target.from} as ${remote} where ${joinCondition(relationship, alias, remote)})`;
}

export function joinCondition(relationship: RelationshipModel, alias: SQL, remote: SQL): SQL {
  return sql.join(
    relationship.columns.map(([local, foreign]) => sql`${remote}.${sql.identifier(foreign)} = ${alias}.${sql.identifier(local)}`),
    " and ",
  );
}

function aggregateTerms(relationship: RelationshipModel, spec: Record<string, unknown>): OrderTerm[] {
  const terms: OrderTerm[] = [];
  const target = relationship.target;
  for (const [fn, value] of Object.entries(spec)) {
    if (value == null) continue;
    if (fn === "count") {
      terms.push({
        ...direction(value as OrderByValue),
        codec: TYPES.bigint,
        column: null,
        expression: (alias) => relatedScalar(relationship, alias, () => sql`count(*)`),
      });
      continue;
    }
    if (!AGGREGATE_FUNCTIONS.includes(fn as AggregateFunction)) throw new Error(`Unknown aggregate ${fn}`);
    for (const [columnName, columnValue] of Object.entries(value as Record<string, unknown>)) {
      if (columnValue == null) continue;
      const column = target.column.get(columnName);
      if (!column) throw new Error(`Unknown column ${columnName} in ${names.aggregateFunctionOrderBy(target.name, fn)}`);
      terms.push({
        ...direction(columnValue as OrderByValue),
        codec: column.codec,
        column: null,
        expression: (alias) => relatedScalar(relationship, alias, (remote) => aggregateExpression(fn as AggregateFunction, column, remote)),
      });
    }
  }
  return terms;
}

/** Registers `order_by`, every `<table>_order_by`, and the aggregate order types of array relationship targets. */
export function registerOrderingTypes(model: DataGraphModel, types: SchemaTypes): void {
  types.registerEnum(names.orderByEnum, Object.fromEntries(Object.keys(ORDER_BY_VALUES).map((v) => [v, { value: v }])));
  const aggregateTargets = new Set(model.tables.flatMap((t) => t.relationships.filter((r) => r.kind === "array").map((r) => r.target)));
  for (const table of model.tables) {
    types.registerInputObject(names.orderBy(table.name), () => {
      const orderBy = types.input(names.orderByEnum);
      const fields: GraphQLInputFieldConfigMap = {};
      for (const column of table.columns) fields[column.name] = { type: orderBy };
      for (const relationship of table.relationships) {
        fields[relationship.kind === "array" ? names.relationshipAggregate(relationship.name) : relationship.name] = {
          type: types.input(
            relationship.kind === "array" ? names.aggregateOrderBy(relationship.target.name) : names.orderBy(relationship.target.name),
          ),
        };
      }
      return fields;
    });
  }
  for (const table of aggregateTargets) {
    const functions = AGGREGATE_FUNCTIONS.filter((fn) => columnsForFunction(table, fn).length > 0);
    types.registerInputObject(names.aggregateOrderBy(table.name), () => {
      const fields: GraphQLInputFieldConfigMap = { count: { type: types.input(names.orderByEnum) } };
      for (const fn of functions) fields[fn] = { type: types.input(names.aggregateFunctionOrderBy(table.name, fn)) };
      return fields;
    });
    for (const fn of functions) {
      types.registerInputObject(names.aggregateFunctionOrderBy(table.name, fn), () =>
        Object.fromEntries(columnsForFunction(table, fn).map((c) => [c.name, { type: types.input(names.orderByEnum) }])),
      );
    }
  }
}
