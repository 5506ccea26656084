// `<table>_bool_exp` and `<scalar>_comparison_exp`, and the compiler from a `where` value to one SQL condition.
//
// Semantics (Hasura v2.1.1 as v1 ran it, with HASURA_GRAPHQL_V1_BOOLEAN_NULL_COLLAPSE=true):
//   - every key of one object must hold (AND); `{}` is TRUE; `_and: []` is TRUE, `_or: []` is FALSE;
//   - an operator, column, relationship or `_and/_or/_not` whose value is null (literal or variable) adds no
//     condition at all (null collapse);
//   - a relationship key (object or array) holds when some related row matches (EXISTS).
import type { GraphQLInputFieldConfigMap, GraphQLInputType } from "graphql";
import { SafeError } from "postgraphile/grafast";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { removeNul } from "../../../domain/src/inputs.ts";
import type { ColumnModel, DataGraphModel, TableModel } from "./model.ts";
import { names } from "./names.ts";
import type { ScalarName } from "./scalars.ts";
import type { SchemaTypes } from "./types.ts";

type Operand = unknown;
type OperatorCompiler = (column: SQL, value: Operand, type: ColumnModel) => SQL;

const cast = (value: Operand, column: ColumnModel) =>
  sql`${sql.value(column.scalar === "jsonb" ? JSON.stringify(value) : (value as string))}::${column.sqlType}`;
/** Refuses a value holding a NUL character, naming the field: Postgres can neither store nor compare one. */
export function refuseNul(value: Operand, field: string): void {
  if (removeNul(value) !== undefined) {
    throw new SafeError(`The value for ${field} contains a NUL character (\\u0000), which the database can neither store nor compare: remove it.`);
  }
}

/** `value` as an SQL parameter of `column`'s type (a jsonb value is sent as its JSON text); null is SQL NULL. */
export function sqlValue(value: Operand, column: ColumnModel): SQL {
  if (value == null) return sql`null::${column.sqlType}`;
  refuseNul(value, column.name);
  return cast(value, column);
}
const castList = (values: readonly Operand[], column: ColumnModel) =>
  sql`${sql.value(column.scalar === "jsonb" ? values.map((v) => JSON.stringify(v)) : (values as string[]))}::${column.sqlType}[]`;
const binary =
  (operator: SQL): OperatorCompiler =>
  (column, value, type) =>
    sql`${column} ${operator} ${cast(value, type)}`;
const textOperator =
  (operator: SQL): OperatorCompiler =>
  (column, value) =>
    sql`${column} ${operator} ${sql.value(value as string)}::text`;

/** Operators every comparison type has, in Hasura's field order. */
const COMMON_OPERATORS: Record<string, OperatorCompiler> = {
  _eq: binary(sql`=`),
  _gt: binary(sql`>`),
  _gte: binary(sql`>=`),
  _in: (column, value, type) => sql`${column} = any(${castList(value as Operand[], type)})`,
  _is_null: (column, value) => (value ? sql`${column} is null` : sql`${column} is not null`),
  _lt: binary(sql`<`),
  _lte: binary(sql`<=`),
  _neq: binary(sql`<>`),
  _nin: (column, value, type) => sql`not (${column} = any(${castList(value as Operand[], type)}))`,
};

const STRING_OPERATORS: Record<string, OperatorCompiler> = {
  _ilike: textOperator(sql`ilike`),
  _iregex: textOperator(sql`~*`),
  _like: textOperator(sql`like`),
  _nilike: textOperator(sql`not ilike`),
  _niregex: textOperator(sql`!~*`),
  _nlike: textOperator(sql`not like`),
  _nregex: textOperator(sql`!~`),
  _nsimilar: textOperator(sql`not similar to`),
  _regex: textOperator(sql`~`),
  _similar: textOperator(sql`similar to`),
};

const JSONB_OPERATORS: Record<string, OperatorCompiler> = {
  _contained_in: binary(sql`<@`),
  _contains: binary(sql`@>`),
  _has_key: (column, value) => sql`${column} ? ${sql.value(value as string)}::text`,
  _has_keys_all: (column, value) => sql`${column} ?& ${sql.value(value as string[])}::text[]`,
  _has_keys_any: (column, value) => sql`${column} ?| ${sql.value(value as string[])}::text[]`,
};

function operatorsFor(scalar: ScalarName): Record<string, OperatorCompiler> {
  if (scalar === "String") return { ...COMMON_OPERATORS, ...STRING_OPERATORS };
  if (scalar === "jsonb") return { ...COMMON_OPERATORS, ...JSONB_OPERATORS };
  return COMMON_OPERATORS;
}

/** A single object where a list is expected is a one-element list (GraphQL list input coercion). */
const asList = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? value : [value as T]);

const and = (parts: SQL[]) => (parts.length === 0 ? sql.true : parts.length === 1 ? parts[0]! : sql.parens(sql.join(parts, " and ")));

/** The SQL condition for `where` on rows of `table` aliased `alias`. */
export function compileBoolExp(table: TableModel, where: unknown, alias: SQL): SQL {
  if (where == null) return sql.true;
  const parts: SQL[] = [];
  for (const [key, value] of Object.entries(where as Record<string, unknown>)) {
    if (value == null) continue;
    if (key === "_and") {
      parts.push(and(asList(value).map((w) => compileBoolExp(table, w, alias))));
    } else if (key === "_or") {
      const branches = asList(value).map((w) => compileBoolExp(table, w, alias));
      parts.push(branches.length === 0 ? sql.false : sql.parens(sql.join(branches, " or ")));
    } else if (key === "_not") {
      parts.push(sql`not ${sql.parens(compileBoolExp(table, value, alias))}`);
    } else if (table.column.has(key)) {
      const column = table.column.get(key)!;
      const operators = operatorsFor(column.scalar);
      const expression = sql`${alias}.${sql.identifier(key)}`;
      for (const [operator, operand] of Object.entries(value as Record<string, unknown>)) {
        if (operand == null) continue;
        const compile = operators[operator];
        if (!compile) throw new Error(`Unknown operator ${operator} on ${table.name}.${key}`);
        refuseNul(operand, `${table.name}.${key} (${operator})`);
        parts.push(compile(expression, operand, column));
      }
    } else if (table.relationship.has(key)) {
      const relationship = table.relationship.get(key)!;
      const remote = sql.identifier(Symbol(relationship.target.name));
      const join = relationship.columns.map(
        ([local, foreign]) => sql`${remote}.${sql.identifier(foreign)} = ${alias}.${sql.identifier(local)}`,
      );
      const condition = compileBoolExp(relationship.target, value, remote);
      parts.push(
        sql`exists(select 1 from ${relationship.target.from} as ${remote} where ${and([...join, condition])})`,
      );
    } else {
      throw new Error(`Unknown field ${key} in ${names.boolExp(table.name)}`);
    }
  }
  return and(parts);
}

/** Registers every comparison type a tracked column needs and one bool_exp per table. */
export function registerFilterTypes(model: DataGraphModel, types: SchemaTypes): void {
  const scalars = new Set(model.tables.flatMap((t) => t.columns.map((c) => c.scalar)));
  for (const scalar of scalars) {
    types.registerInputObject(names.comparisonExp(scalar), () => {
      const self = types.input(scalar);
      const fields: GraphQLInputFieldConfigMap = {};
      for (const operator of Object.keys(operatorsFor(scalar))) {
        fields[operator] = { type: operandType(operator, self, types) };
      }
      return fields;
    });
  }
  for (const table of model.tables) {
    types.registerInputObject(names.boolExp(table.name), () => {
      const self = types.input(names.boolExp(table.name));
      const fields: GraphQLInputFieldConfigMap = {
        _and: { type: types.list(self) },
        _not: { type: self },
        _or: { type: types.list(self) },
      };
      for (const column of table.columns) fields[column.name] = { type: types.input(names.comparisonExp(column.scalar)) };
      for (const relationship of table.relationships) {
        fields[relationship.name] = { type: types.input(names.boolExp(relationship.target.name)) };
      }
      return fields;
    });
  }
}

function operandType(operator: string, self: GraphQLInputType, types: SchemaTypes): GraphQLInputType {
  switch (operator) {
    case "_in":
    case "_nin":
      return types.list(self);
    case "_is_null":
      return types.input("Boolean");
    case "_has_key":
      return types.input("String");
    case "_has_keys_all":
    case "_has_keys_any":
      return types.list(types.input("String"));
    default:
      return self;
  }
}
