// The arguments every list, aggregate and function root takes, and `<t>_select_column` (distinct_on, count).
import type { DataGraphModel } from "./model.ts";
import { names } from "./names.ts";
import type { ListArgValues } from "./query.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

export const LIST_ARGUMENTS: ReadonlyArray<keyof ListArgValues> = ["where", "order_by", "distinct_on", "limit", "offset"];

/** `(distinct_on: [<t>_select_column!], limit: Int, offset: Int, order_by: [<t>_order_by!], where: <t>_bool_exp)` */
export function listArgs(table: string, types: SchemaTypes): NonNullable<PlannedField["args"]> {
  return {
    distinct_on: { type: types.list(types.input(names.selectColumn(table))) },
    limit: { type: types.input("Int") },
    offset: { type: types.input("Int") },
    order_by: { type: types.list(types.input(names.orderBy(table))) },
    where: { type: types.input(names.boolExp(table)) },
  };
}

export function registerSelectColumnEnums(model: DataGraphModel, types: SchemaTypes): void {
  for (const table of model.tables) {
    types.registerEnum(names.selectColumn(table.name), Object.fromEntries(table.columns.map((c) => [c.name, { value: c.name }])));
  }
}
