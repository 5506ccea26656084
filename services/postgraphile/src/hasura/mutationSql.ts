// The statements of v1's Hasura table mutations, run on the client of the mutation's transaction. Each statement
// returns the rows it wrote as JSON (`to_json(row)`), which `returning` turns back into rows (mutations.ts).
//
//   insert   one INSERT … VALUES (…), (…) [ON CONFLICT ON CONSTRAINT c DO UPDATE SET … WHERE … | DO NOTHING];
//            with nested relationship data, row by row: object relationships first (their keys fill this row's
//            columns), then the row, then array relationships (this row's keys fill the children's columns)
//   update   one UPDATE … SET col = <_set | _inc | _append | _prepend | _delete_key | _delete_elem | _delete_at_path>
//   delete   one DELETE
import type { PgClient } from "postgraphile/@dataplan/pg";
import { SafeError } from "postgraphile/grafast";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { compileBoolExp, refuseNul, sqlValue } from "./filters.ts";
import type { ColumnModel, RelationshipModel, TableModel } from "./model.ts";

/** A row as `to_json` writes it. */
export type JsonRow = Record<string, unknown>;

export interface MutationResult {
  affected_rows: number;
  /** The rows of the top-level table the mutation wrote, in statement order. */
  rows: JsonRow[];
}

/** `<t>_on_conflict` */
export interface OnConflict {
  constraint: string;
  update_columns?: string | readonly string[] | null;
  where?: unknown;
}

/** The update operators, in Hasura's argument order, and the SQL each assigns to `column` (`current` is its value). */
export const UPDATE_OPERATORS = {
  _append: (current: SQL, value: unknown) => sql`${current} || ${sql.value(JSON.stringify(value))}::jsonb`,
  _delete_at_path: (current: SQL, value: unknown) => sql`${current} #- ${sql.value(asList(value as string) as string[])}::text[]`,
  _delete_elem: (current: SQL, value: unknown) => sql`${current} - ${sql.value(value as number)}::integer`,
  _delete_key: (current: SQL, value: unknown) => sql`${current} - ${sql.value(value as string)}::text`,
  _inc: (current: SQL, value: unknown, column: ColumnModel) => sql`${current} + ${sqlValue(value, column)}`,
  _prepend: (current: SQL, value: unknown) => sql`${sql.value(JSON.stringify(value))}::jsonb || ${current}`,
  _set: (_current: SQL, value: unknown, column: ColumnModel) => sqlValue(value, column),
} as const;

export type UpdateOperator = keyof typeof UPDATE_OPERATORS;
export type UpdateOperators = Partial<Record<UpdateOperator, Record<string, unknown> | null>>;

/** The operators a table's update takes: `_set` always, `_inc` with numeric columns, the jsonb ones with jsonb columns. */
export function updateOperatorsOf(table: TableModel): UpdateOperator[] {
  return (Object.keys(UPDATE_OPERATORS) as UpdateOperator[]).filter((operator) => operatorColumns(table, operator).length > 0);
}

/** The columns an update operator applies to. */
export function operatorColumns(table: TableModel, operator: UpdateOperator): readonly ColumnModel[] {
  if (operator === "_set") return table.columns;
  if (operator === "_inc") return table.columns.filter((c) => c.scalar === "Int" || c.scalar === "Float");
  return table.columns.filter((c) => c.scalar === "jsonb" && c.codec.name === "jsonb");
}

const asList = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? value : [value as T]);

/** A data-modifying statement on rows aliased `alias`, given its RETURNING clause. */
type Statement = { alias: SQL; sql: (returning: SQL) => SQL };

async function rowsOf(client: PgClient, statement: Statement): Promise<JsonRow[]> {
  const { text, values } = sql.compile(statement.sql(sql`returning to_json(${statement.alias}) as row`));
  const result = await client.query<{ row: JsonRow }>({ text, values });
  return result.rows.map((r) => r.row);
}

/**
 * Runs `statement`; the written rows come back only when `wantRows` (`returning` or a single-row field is
 * selected), so that a large update or delete asked for `affected_rows` alone does not ship every row to Node.
 */
async function write(client: PgClient, statement: Statement, wantRows: boolean): Promise<MutationResult> {
  if (wantRows) {
    const rows = await rowsOf(client, statement);
    return { affected_rows: rows.length, rows };
  }
  const { text, values } = sql.compile(sql`with written as (${statement.sql(sql`returning 1`)}) select count(*)::int as n from written`);
  const result = await client.query<{ n: number }>({ text, values });
  return { affected_rows: result.rows[0]!.n, rows: [] };
}

function conflictClause(table: TableModel, onConflict: OnConflict | null | undefined, alias: SQL): SQL {
  if (onConflict == null) return sql.blank;
  const constraint = table.constraints.find((c) => c.name === onConflict.constraint);
  if (!constraint) throw new SafeError(`constraint "${onConflict.constraint}" does not exist on table "${table.name}"`);
  const target = sql`on conflict on constraint ${sql.identifier(constraint.name)}`;
  const columns = onConflict.update_columns == null ? [] : asList(onConflict.update_columns);
  if (columns.length === 0) return sql` ${target} do nothing`;
  const set = columns.map((name) => sql`${sql.identifier(name)} = excluded.${sql.identifier(name)}`);
  const where = onConflict.where == null ? sql.blank : sql` where ${compileBoolExp(table, onConflict.where, alias)}`;
  return sql` ${target} do update set ${sql.join(set, ", ")}${where}`;
}

/** One INSERT of `rows` (column → value; an absent column takes its DEFAULT, null is NULL). */
export function insertStatement(table: TableModel, rows: readonly JsonRow[], onConflict: OnConflict | null | undefined): Statement {
  const alias = sql.identifier(Symbol(table.name));
  const given = table.columns.filter((c) => rows.some((row) => Object.hasOwn(row, c.name)));
  // A row of defaults still needs a column list: DEFAULT in the first column is the same as no column at all.
  const columns = given.length > 0 ? given : table.columns.slice(0, 1);
  const tuples = rows.map(
    (row) => sql`(${sql.join(columns.map((c) => (Object.hasOwn(row, c.name) ? sqlValue(row[c.name], c) : sql`default`)), ", ")})`,
  );
  const conflict = conflictClause(table, onConflict, alias);
  const columnList = sql.join(columns.map((c) => sql.identifier(c.name)), ", ");
  return { alias, sql: (returning) => sql`insert into ${table.from} as ${alias} (${columnList}) values ${sql.join(tuples, ", ")}${conflict} ${returning}` };
}

/** The column part of one `<t>_insert_input` object. */
function columnValues(table: TableModel, object: JsonRow): JsonRow {
  return Object.fromEntries(Object.entries(object).filter(([key]) => table.column.has(key)));
}

const relationshipInputs = (table: TableModel, object: JsonRow) =>
  table.relationships.filter((r) => object[r.name] != null).map((r) => [r, object[r.name] as { data: unknown; on_conflict?: OnConflict }] as const);

/** `insert_<t>` / `insert_<t>_one`. */
export async function runInsert(
  client: PgClient,
  table: TableModel,
  objects: readonly JsonRow[],
  onConflict: OnConflict | null | undefined,
  wantRows: boolean,
): Promise<MutationResult> {
  if (objects.length === 0) return { affected_rows: 0, rows: [] };
  if (objects.every((object) => relationshipInputs(table, object).length === 0)) {
    return write(client, insertStatement(table, objects.map((o) => columnValues(table, o)), onConflict), wantRows);
  }
  const counter = { affected: 0 };
  const rows: JsonRow[] = [];
  for (const object of objects) {
    const row = await insertNested(client, table, object, onConflict, counter, {});
    if (row) rows.push(row);
  }
  return { affected_rows: counter.affected, rows };
}

/**
 * One object with its relationship data; `fixed` holds the columns an enclosing array relationship determines.
 * Returns the row written (null when ON CONFLICT DO NOTHING skipped it).
 */
async function insertNested(
  client: PgClient,
  table: TableModel,
  object: JsonRow,
  onConflict: OnConflict | null | undefined,
  counter: { affected: number },
  fixed: JsonRow,
): Promise<JsonRow | null> {
  const values = columnValues(table, object);
  for (const [column, value] of Object.entries(fixed)) {
    if (Object.hasOwn(values, column)) throw new SafeError(`cannot insert "${column}" into "${table.name}": its value is determined by the parent row`);
    values[column] = value;
  }
  const inputs = relationshipInputs(table, object);
  for (const [relationship, input] of inputs.filter(([r]) => r.kind === "object")) {
    for (const [local] of relationship.columns) {
      if (Object.hasOwn(values, local)) {
        throw new SafeError(`cannot insert object relationship "${relationship.name}" as "${local}" column values are already determined`);
      }
    }
    const parent = await insertNested(client, relationship.target, input.data as JsonRow, input.on_conflict, counter, {});
    if (!parent) {
      throw new SafeError(`cannot proceed to insert object relation "${relationship.name}" since insert to table "${relationship.target.name}" affects zero rows`);
    }
    for (const [local, remote] of relationship.columns) values[local] = parent[remote];
  }
  const [row] = await rowsOf(client, insertStatement(table, [values], onConflict));
  if (row) counter.affected += 1;
  const arrays = inputs.filter(([r]) => r.kind === "array");
  if (arrays.length > 0 && !row) {
    throw new SafeError(`cannot proceed to insert array relations since insert to table "${table.name}" affects zero rows`);
  }
  for (const [relationship, input] of arrays) {
    for (const child of asList(input.data as JsonRow | JsonRow[])) {
      await insertNested(client, relationship.target, child as JsonRow, input.on_conflict, counter, childKeys(relationship, row!));
    }
  }
  return row ?? null;
}

const childKeys = (relationship: RelationshipModel, row: JsonRow): JsonRow =>
  Object.fromEntries(relationship.columns.map(([local, remote]) => [remote, row[local]]));

/** `SET` assignments for the given operators; a column may appear under one operator only. */
export function assignments(table: TableModel, operators: UpdateOperators, alias: SQL): SQL[] {
  const given = updateOperatorsOf(table).filter((operator) => operators[operator] != null);
  if (given.length === 0) throw new SafeError(`at least any one of ${updateOperatorsOf(table).join(", ")} is expected`);
  const usedBy = new Map<string, UpdateOperator[]>();
  const parts: SQL[] = [];
  for (const operator of given) {
    for (const [name, value] of Object.entries(operators[operator]!)) {
      // An explicit null sets NULL with _set; for the other operators it changes nothing.
      if (value === undefined || (value === null && operator !== "_set")) continue;
      const column = table.column.get(name);
      if (!column) throw new SafeError(`no column "${name}" in "${table.name}"`);
      usedBy.set(name, [...(usedBy.get(name) ?? []), operator]);
      refuseNul(value, `${table.name}.${name}`);
      const current = sql`${alias}.${sql.identifier(name)}`;
      parts.push(sql`${sql.identifier(name)} = ${UPDATE_OPERATORS[operator](current, value, column)}`);
    }
  }
  const conflicts = [...usedBy].filter(([, ops]) => ops.length > 1);
  if (conflicts.length > 0) {
    throw new SafeError(`column found in multiple operators; ${conflicts.map(([name, ops]) => `"${name}" in ${ops.join(", ")}`).join(". ")}`);
  }
  if (parts.length === 0) throw new SafeError(`at least one column to update is expected`);
  return parts;
}

/** The condition on `alias` for a primary key value (`{id: …}`). */
export function primaryKeyCondition(table: TableModel, key: JsonRow, alias: SQL): SQL {
  const columns = table.primaryKey ?? [];
  return sql.join(
    columns.map((name) => sql`${alias}.${sql.identifier(name)} = ${sqlValue(key[name], table.column.get(name)!)}`),
    " and ",
  );
}

/** Which rows an update or delete writes: `where` (update_<t>, delete_<t>) or a primary key (the _by_pk forms). */
export type RowFilter = { where: unknown } | { pk: JsonRow };

const filterSql = (table: TableModel, filter: RowFilter, alias: SQL) =>
  "pk" in filter ? primaryKeyCondition(table, filter.pk, alias) : compileBoolExp(table, filter.where, alias);

/** `update_<t>` and `update_<t>_by_pk`. */
export function runUpdate(client: PgClient, table: TableModel, filter: RowFilter, operators: UpdateOperators, wantRows: boolean): Promise<MutationResult> {
  const alias = sql.identifier(Symbol(table.name));
  const set = sql.join(assignments(table, operators, alias), ", ");
  const where = filterSql(table, filter, alias);
  return write(client, { alias, sql: (returning) => sql`update ${table.from} as ${alias} set ${set} where ${where} ${returning}` }, wantRows);
}

/** `delete_<t>` and `delete_<t>_by_pk`. */
export function runDelete(client: PgClient, table: TableModel, filter: RowFilter, wantRows: boolean): Promise<MutationResult> {
  const alias = sql.identifier(Symbol(table.name));
  const where = filterSql(table, filter, alias);
  return write(client, { alias, sql: (returning) => sql`delete from ${table.from} as ${alias} where ${where} ${returning}` }, wantRows);
}
