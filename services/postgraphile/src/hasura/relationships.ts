// Relationship fields with v1's names: an object relationship is the related row (joined into the parent's
// statement); an array relationship is a list with the same arguments as a root list, plus `<rel>_aggregate`.
import type { PgSelectSingleStep } from "postgraphile/@dataplan/pg";
import type { Step } from "postgraphile/grafast";
import { AggregateContainerStep } from "./aggregates.ts";
import type { TableModel } from "./model.ts";
import { names } from "./names.ts";
import { argSteps, relationshipCorrelation, selectRelated, selectRows, tableSource } from "./query.ts";
import { LIST_ARGUMENTS, listArgs } from "./arguments.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

type FieldArgs = { getRaw(name: string): Step };

export function relationshipFields(table: TableModel, types: SchemaTypes): Record<string, PlannedField> {
  const fields: Record<string, PlannedField> = {};
  for (const relationship of table.relationships.filter((r) => r.kind === "array")) {
    const source = tableSource(relationship.target);
    const args = listArgs(relationship.target.name, types);
    fields[relationship.name] = {
      type: types.nonNullList(types.output(relationship.target.name)),
      args,
      plan: ($parent: PgSelectSingleStep, fieldArgs: FieldArgs) =>
        selectRows(source, argSteps(fieldArgs, LIST_ARGUMENTS), relationshipCorrelation(relationship, $parent)),
    };
    fields[names.relationshipAggregate(relationship.name)] = {
      type: types.nonNull(types.output(names.aggregate(relationship.target.name))),
      args,
      plan: ($parent: PgSelectSingleStep, fieldArgs: FieldArgs) =>
        new AggregateContainerStep(source, argSteps(fieldArgs, LIST_ARGUMENTS), relationshipCorrelation(relationship, $parent)),
    };
  }
  for (const relationship of table.relationships.filter((r) => r.kind === "object")) {
    const target = types.output(relationship.target.name);
    fields[relationship.name] = {
      type: relationship.notNull ? types.nonNull(target) : target,
      plan: ($parent: PgSelectSingleStep) => selectRelated(relationship, $parent),
    };
  }
  return fields;
}
