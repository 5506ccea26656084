// The traversal function roots: `utility_downstream_tasks(args: {start_task_ids: "{a,b}", depth_limit: 2}, …)`
// and `utility_upstream_tasks`, each with `_aggregate`, returning `utility_traversal` rows (which have `task`).
// They take the same where/order_by/distinct_on/limit/offset as a table; without order_by the rows keep the
// function's own order (depth, task_id, tenant_id).
import { SafeError } from "postgraphile/grafast";
import { sql } from "postgraphile/pg-sql2";
import { LIST_ARGUMENTS, listArgs } from "./arguments.ts";
import type { FunctionSpec } from "./metadata.ts";
import type { DataGraphModel } from "./model.ts";
import { names } from "./names.ts";
import type { ListArgValues, RowSource } from "./query.ts";
import { parseUuidArray } from "../../../domain/src/scalars.ts";
import { listAndAggregateRoots } from "./tables.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

/** The FROM item of a function root: the call, numbered so its own row order can be kept. */
export function functionSource(model: DataGraphModel, fn: FunctionSpec): RowSource {
  return {
    table: model.table.get(fn.returns)!,
    ordinality: true,
    from(values: ListArgValues) {
      const given = (values.args ?? {}) as Record<string, unknown>;
      const args = fn.args
        .filter((arg) => given[arg.name] != null || !arg.hasDefault)
        .map((arg) => {
          const sent = given[arg.name];
          if (sent == null) return sql`${sql.identifier(arg.name)} => NULL::${arg.sqlType}`;
          const value = arg.type === "_uuid" ? parseUuidArray(sent) : sent;
          if (arg.type === "Int" && (typeof value !== "number" || !Number.isInteger(value))) {
            throw new SafeError(`expected an integer for "${arg.name}"`);
          }
          return sql`${sql.identifier(arg.name)} => ${sql.value(value as string)}::${arg.sqlType}`;
        });
      return sql`${sql.identifier(fn.schema, fn.function)}(${sql.join(args, ", ")}) with ordinality`;
    },
  };
}

export function registerFunctionArgTypes(model: DataGraphModel, types: SchemaTypes): void {
  for (const fn of model.functions) {
    types.registerInputObject(names.functionArgs(fn.name), () =>
      Object.fromEntries([...fn.args].sort((a, b) => a.name.localeCompare(b.name)).map((arg) => [arg.name, { type: types.input(arg.type) }])),
    );
  }
}

export function rootFunctionFields(model: DataGraphModel, types: SchemaTypes): Record<string, PlannedField> {
  const fields: Record<string, PlannedField> = {};
  const argNames = [...LIST_ARGUMENTS, "args"] as const;
  for (const fn of model.functions) {
    const source = functionSource(model, fn);
    const args = { args: { type: types.nonNull(types.input(names.functionArgs(fn.name))) }, ...listArgs(source.table.name, types) };
    Object.assign(fields, listAndAggregateRoots(fn.name, source, args, argNames, types));
  }
  return fields;
}
