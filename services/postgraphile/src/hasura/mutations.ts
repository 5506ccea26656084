// v1's Hasura table mutations, behind `services.postgraphile.enable_table_mutations`: per table
//   delete_<t>(where), delete_<t>_by_pk(pk), insert_<t>(objects, on_conflict), insert_<t>_one(object, on_conflict),
//   update_<t>(_set, _inc, _append, _prepend, _delete_key, _delete_elem, _delete_at_path, where), update_<t>_by_pk
// with `<t>_mutation_response { affected_rows returning }`, minus the names the mutations service owns
// (metadata.ts SHADOWED_MUTATIONS). Each field runs in its own transaction (a savepoint inside the request's
// transaction, transaction.ts); `returning` reads the written rows back with the full selection of `<t>`.
import type { GraphQLInputFieldConfigMap, GraphQLInputType } from "graphql";
import { pgSelect, sideEffectWithPgClientTransaction, TYPES, type PgClient, type PgSelectArgumentDigest, type PgSelectStep } from "postgraphile/@dataplan/pg";
import { access, type Step } from "postgraphile/grafast";
import { sql } from "postgraphile/pg-sql2";
import { SHADOWED_MUTATIONS } from "./metadata.ts";
import type { DataGraphModel, TableModel } from "./model.ts";
import {
  operatorColumns,
  runDelete,
  runInsert,
  runUpdate,
  updateOperatorsOf,
  type JsonRow,
  type MutationResult,
  type OnConflict,
  type UpdateOperator,
  type UpdateOperators,
} from "./mutationSql.ts";
import { names } from "./names.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

type FieldArgs = { getRaw(name: string): Step };
type Args = Record<string, unknown>;

/** The input type of each update operator's column values. */
function operatorValueType(operator: UpdateOperator, scalar: string, types: SchemaTypes): GraphQLInputType {
  switch (operator) {
    case "_append":
    case "_prepend":
      return types.input("jsonb");
    case "_delete_key":
      return types.input("String");
    case "_delete_elem":
      return types.input("Int");
    case "_delete_at_path":
      return types.list(types.input("String"));
    default:
      return types.input(scalar);
  }
}

const writableTables = (model: DataGraphModel) => model.tables.filter((table) => !table.readOnly);

/** Registers the input, enum and response types of every table's mutations. */
export function registerMutationTypes(model: DataGraphModel, types: SchemaTypes): void {
  const objectTargets = new Set(model.tables.flatMap((t) => t.relationships.filter((r) => r.kind === "object").map((r) => r.target)));
  const arrayTargets = new Set(model.tables.flatMap((t) => t.relationships.filter((r) => r.kind === "array").map((r) => r.target)));
  for (const table of writableTables(model)) {
    const hasConstraints = table.constraints.length > 0;
    const onConflict = (): GraphQLInputFieldConfigMap => (hasConstraints ? { on_conflict: { type: types.input(names.onConflict(table.name)) } } : {});
    types.registerObject(names.mutationResponse(table.name), () => ({
      affected_rows: { type: types.nonNull(types.output("Int")), plan: ($result: Step) => access($result, "affected_rows") },
      returning: { type: types.nonNullList(types.output(table.name)), plan: ($result: Step) => writtenRows(table, $result) },
    }));
    types.registerInputObject(names.insertInput(table.name), () => {
      const fields: GraphQLInputFieldConfigMap = {};
      for (const column of table.columns) fields[column.name] = { type: types.input(column.scalar) };
      for (const relationship of table.relationships) {
        const target = relationship.target.name;
        fields[relationship.name] = { type: types.input(relationship.kind === "object" ? names.objRelInsertInput(target) : names.arrRelInsertInput(target)) };
      }
      return fields;
    });
    if (objectTargets.has(table)) {
      types.registerInputObject(names.objRelInsertInput(table.name), () => ({
        data: { type: types.nonNull(types.input(names.insertInput(table.name))) },
        ...onConflict(),
      }));
    }
    if (arrayTargets.has(table)) {
      types.registerInputObject(names.arrRelInsertInput(table.name), () => ({
        data: { type: types.nonNullList(types.input(names.insertInput(table.name))) },
        ...onConflict(),
      }));
    }
    if (hasConstraints) {
      types.registerEnum(names.constraint(table.name), Object.fromEntries(table.constraints.map((c) => [c.name, { value: c.name }])));
      types.registerEnum(names.updateColumn(table.name), Object.fromEntries(table.columns.map((c) => [c.name, { value: c.name }])));
      types.registerInputObject(names.onConflict(table.name), () => ({
        constraint: { type: types.nonNull(types.input(names.constraint(table.name))) },
        update_columns: { type: types.nonNullList(types.input(names.updateColumn(table.name))), defaultValue: [] },
        where: { type: types.input(names.boolExp(table.name)) },
      }));
    }
    for (const operator of updateOperatorsOf(table)) {
      types.registerInputObject(names.updateOperatorInput(table.name, operator), () =>
        Object.fromEntries(operatorColumns(table, operator).map((c) => [c.name, { type: operatorValueType(operator, c.scalar, types) }])),
      );
    }
    if (table.primaryKey) {
      const primaryKey = table.primaryKey;
      types.registerInputObject(names.pkColumnsInput(table.name), () =>
        Object.fromEntries(primaryKey.map((name) => [name, { type: types.nonNull(types.input(table.column.get(name)!.scalar)) }])),
      );
    }
  }
}

/**
 * The rows a mutation wrote (JSON from its RETURNING) as a select over `<t>`, in the order written: every field of
 * `<t>` (relationships, aggregates) works on them.
 */
function returnedRows(table: TableModel, $rows: Step): PgSelectStep {
  const $select = pgSelect({
    resource: table.resource,
    identifiers: [],
    from: (rows: PgSelectArgumentDigest) => sql`json_populate_recordset(null::${table.from}, ${rows.placeholder}) with ordinality`,
    args: [{ step: $rows, pgCodec: TYPES.json }],
    name: `${table.name}_returning`,
  });
  $select.orderBy({ fragment: sql`${$select.alias}.ordinality`, codec: TYPES.bigint, direction: "ASC" });
  $select.setOrderIsUnique();
  return $select;
}

/** Whether a mutation step's written rows are read (set while planning `returning`; read when it runs). */
const rowsWanted = new WeakMap<Step, { rows: boolean }>();

/** Runs `run` with the field's arguments in a transaction of its own. */
function mutate(
  table: TableModel,
  fieldArgs: FieldArgs,
  argNames: readonly string[],
  run: (client: PgClient, args: Args, wantRows: boolean) => Promise<MutationResult>,
): Step<MutationResult> {
  const $args = Object.fromEntries(argNames.map((name) => [name, fieldArgs.getRaw(name)]));
  const wanted = { rows: false };
  const $result = sideEffectWithPgClientTransaction(table.resource.executor, $args, (client, args) => run(client, args as Args, wanted.rows));
  rowsWanted.set($result, wanted);
  return $result;
}

/** `<t>_mutation_response.returning` (and the single-row fields): the rows the mutation step wrote. */
function writtenRows(table: TableModel, $result: Step): PgSelectStep {
  const wanted = rowsWanted.get($result);
  if (!wanted) throw new Error(`${table.name}: returning planned on a step that is not a table mutation`);
  wanted.rows = true;
  return returnedRows(table, access($result, "rows"));
}

const rowField = (table: TableModel, $result: Step) => writtenRows(table, $result).single();
const asObjects = (value: unknown): JsonRow[] => (value == null ? [] : Array.isArray(value) ? value : [value]) as JsonRow[];
const operatorsOf = (args: Args, table: TableModel): UpdateOperators =>
  Object.fromEntries(updateOperatorsOf(table).map((operator) => [operator, args[operator] as Record<string, unknown> | null]));

/** The mutation root fields of every table, in v1's order (delete, insert, update; each plain then single-row). */
export function rootMutationFields(model: DataGraphModel, types: SchemaTypes): Record<string, PlannedField> {
  const fields: Record<string, PlannedField> = {};
  for (const table of writableTables(model)) {
    const response = types.output(names.mutationResponse(table.name));
    const row = types.output(table.name);
    const where = { where: { type: types.nonNull(types.input(names.boolExp(table.name))) } };
    const onConflict: NonNullable<PlannedField["args"]> =
      table.constraints.length > 0 ? { on_conflict: { type: types.input(names.onConflict(table.name)) } } : {};
    const insertArgs = (rows: "objects" | "object") => [rows, ...Object.keys(onConflict)];
    const operators = updateOperatorsOf(table);
    const operatorArgs = Object.fromEntries(operators.map((op) => [op, { type: types.input(names.updateOperatorInput(table.name, op)) }]));
    const primaryKey = table.primaryKey;
    const candidates: Record<string, PlannedField> = {
      [names.delete(table.name)]: {
        type: response,
        args: where,
        plan: (_: Step, fieldArgs: FieldArgs) => mutate(table, fieldArgs, ["where"], (client, args, wantRows) => runDelete(client, table, { where: args.where }, wantRows)),
      },
      ...(primaryKey && {
        [names.deleteByPk(table.name)]: {
          type: row,
          args: Object.fromEntries(primaryKey.map((name) => [name, { type: types.nonNull(types.input(table.column.get(name)!.scalar)) }])),
          plan: (_: Step, fieldArgs: FieldArgs) =>
            rowField(table, mutate(table, fieldArgs, primaryKey, (client, args, wantRows) => runDelete(client, table, { pk: args }, wantRows))),
        },
      }),
      [names.insert(table.name)]: {
        type: response,
        args: { objects: { type: types.nonNullList(types.input(names.insertInput(table.name))) }, ...onConflict },
        plan: (_: Step, fieldArgs: FieldArgs) =>
          mutate(table, fieldArgs, insertArgs("objects"), (client, args, wantRows) =>
            runInsert(client, table, asObjects(args.objects), args.on_conflict as OnConflict | null, wantRows),
          ),
      },
      [names.insertOne(table.name)]: {
        type: row,
        args: { object: { type: types.nonNull(types.input(names.insertInput(table.name))) }, ...onConflict },
        plan: (_: Step, fieldArgs: FieldArgs) =>
          rowField(
            table,
            mutate(table, fieldArgs, insertArgs("object"), (client, args, wantRows) =>
              runInsert(client, table, asObjects(args.object), args.on_conflict as OnConflict | null, wantRows),
            ),
          ),
      },
      [names.update(table.name)]: {
        type: response,
        args: { ...operatorArgs, ...where },
        plan: (_: Step, fieldArgs: FieldArgs) =>
          mutate(table, fieldArgs, [...operators, "where"], (client, args, wantRows) =>
            runUpdate(client, table, { where: args.where }, operatorsOf(args, table), wantRows),
          ),
      },
      ...(primaryKey && {
        [names.updateByPk(table.name)]: {
          type: row,
          args: { ...operatorArgs, pk_columns: { type: types.nonNull(types.input(names.pkColumnsInput(table.name))) } },
          plan: (_: Step, fieldArgs: FieldArgs) =>
            rowField(
              table,
              mutate(table, fieldArgs, [...operators, "pk_columns"], (client, args, wantRows) =>
                runUpdate(client, table, { pk: args.pk_columns as JsonRow }, operatorsOf(args, table), wantRows),
              ),
            ),
        },
      }),
    };
    for (const [name, field] of Object.entries(candidates)) if (!SHADOWED_MUTATIONS.has(name)) fields[name] = field;
  }
  return fields;
}
