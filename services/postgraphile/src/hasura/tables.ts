// Per tracked table: the object type's column fields, and the root fields `<t>`, `<t>_by_pk`, `<t>_aggregate`.
import { lambda, type Step } from "postgraphile/grafast";
import type { PgSelectSingleStep } from "postgraphile/@dataplan/pg";
import { AggregateContainerStep } from "./aggregates.ts";
import { LIST_ARGUMENTS, listArgs } from "./arguments.ts";
import { extractJsonPath } from "./jsonPath.ts";
import type { ColumnModel, DataGraphModel, TableModel } from "./model.ts";
import { names } from "./names.ts";
import { argSteps, selectByPk, selectRows, unitCorrelation, unitRow, type ListArgValues, type RowSource } from "./query.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

type FieldArgs = { getRaw(name: string): Step };

/** One field per column, in table order; jsonb columns take Hasura's `path:` argument. */
export function columnFields(table: TableModel, types: SchemaTypes): Record<string, PlannedField> {
  return Object.fromEntries(table.columns.map((column) => [column.name, columnField(column, types)]));
}

function columnField(column: ColumnModel, types: SchemaTypes): PlannedField {
  const scalar = types.output(column.scalar);
  const type = column.notNull ? types.nonNull(scalar) : scalar;
  if (column.scalar !== "jsonb") {
    return { type, plan: ($row: PgSelectSingleStep) => $row.get(column.name) };
  }
  return {
    type,
    args: { path: { type: types.input("String") } },
    plan: ($row: PgSelectSingleStep, fieldArgs: FieldArgs) =>
      lambda([$row.get(column.name), fieldArgs.getRaw("path")], ([value, path]) => extractJsonPath(value, path as string | null)),
  };
}

/**
 * A list root `<name>` and its `<name>_aggregate` over `source` (a table, or a function's rows), taking `args`
 * (read as `argNames`).
 */
export function listAndAggregateRoots(
  name: string,
  source: RowSource,
  args: NonNullable<PlannedField["args"]>,
  argNames: ReadonlyArray<keyof ListArgValues>,
  types: SchemaTypes,
): Record<string, PlannedField> {
  const table = source.table;
  return {
    [name]: {
      type: types.nonNullList(types.output(table.name)),
      args,
      plan: (_: Step, fieldArgs: FieldArgs) => selectRows(source, argSteps(fieldArgs, argNames), null),
    },
    [names.aggregate(name)]: {
      type: types.nonNull(types.output(names.aggregate(table.name))),
      args,
      plan: (_: Step, fieldArgs: FieldArgs) =>
        new AggregateContainerStep(source, argSteps(fieldArgs, argNames), unitCorrelation(unitRow(table))),
    },
  };
}

/** `<t>`, `<t>_aggregate` and (for tables with a primary key) `<t>_by_pk`, in v1's order. */
export function rootTableFields(model: DataGraphModel, types: SchemaTypes, sources: ReadonlyMap<string, RowSource>): Record<string, PlannedField> {
  const fields: Record<string, PlannedField> = {};
  for (const table of model.tables) {
    Object.assign(fields, listAndAggregateRoots(table.name, sources.get(table.name)!, listArgs(table.name, types), LIST_ARGUMENTS, types));
    const primaryKey = table.primaryKey;
    if (primaryKey) {
      fields[names.byPk(table.name)] = {
        type: types.output(table.name),
        args: Object.fromEntries(primaryKey.map((name) => [name, { type: types.nonNull(types.input(table.column.get(name)!.scalar)) }])),
        plan: (_: Step, fieldArgs: FieldArgs) =>
          selectByPk(table, Object.fromEntries(primaryKey.map((name) => [name, fieldArgs.getRaw(name)]))),
      };
    }
  }
  return fields;
}
