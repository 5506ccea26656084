// `<t>_aggregate { aggregate { count(columns:, distinct:) max {…} min {…} sum {…} avg {…} … } nodes {…} }`, at the
// root and on array relationships (`<rel>_aggregate`). The aggregate row and the nodes are two selects over the
// same rows (same where/order_by/distinct_on/limit/offset), both inlined into the parent statement.
import { ConstantStep, lambda, UnbatchedStep, type Step } from "postgraphile/grafast";
import { TYPES, type PgCodec, type PgSelectSingleStep, type PgSelectStep } from "postgraphile/@dataplan/pg";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { AGGREGATE_FUNCTIONS, aggregateCodec, aggregateExpression, aggregateScalar, columnsForFunction } from "./aggregateSql.ts";
import type { DataGraphModel, TableModel } from "./model.ts";
import { names } from "./names.ts";
import { selectRows, type Correlation, type ListArgValues, type RowSource } from "./query.ts";
import type { PlannedField, SchemaTypes } from "./types.ts";

type ArgSteps = { [K in keyof ListArgValues]: Step };

/**
 * The value of a `<t>_aggregate` field: it carries the field's arguments and its correlation to the parent so that
 * `aggregate` and `nodes` can build their selects. At run time it is just a marker object.
 */
export class AggregateContainerStep extends UnbatchedStep<Record<string, never>> {
  static override $$export = { moduleName: "prefect-server/postgraphile", exportName: "AggregateContainerStep" };
  override isSyncAndSafe = true;
  readonly source: RowSource;
  private readonly argDeps: Array<[keyof ListArgValues, number]>;
  private readonly identifierDeps: Array<{ depId: number; codec: PgCodec; matches: (alias: SQL) => SQL }>;
  private readonly partitionBy: readonly string[];

  constructor(source: RowSource, args: ArgSteps, correlation: Correlation) {
    super();
    this.source = source;
    this.argDeps = (Object.entries(args) as Array<[keyof ListArgValues, Step]>).map(([name, $step]) => [name, this.addDependency($step)]);
    this.identifierDeps = correlation.identifiers.map(({ step, codec, matches }) => ({ depId: this.addDependency(step), codec, matches }));
    this.partitionBy = correlation.partitionBy;
  }

  args(): ArgSteps {
    return Object.fromEntries(this.argDeps.map(([name, depId]) => [name, this.getDep(depId, true)])) as ArgSteps;
  }

  correlation(): Correlation {
    return {
      identifiers: this.identifierDeps.map(({ depId, codec, matches }) => ({ step: this.getDep(depId, true), codec, matches })),
      partitionBy: this.partitionBy,
    };
  }

  override deduplicate(): AggregateContainerStep[] {
    return [];
  }

  unbatchedExecute(): Record<string, never> {
    return {};
  }
}

/** `count(columns, distinct)` over the aggregate select aliased `alias`. */
export function countExpression(alias: SQL, columns: readonly string[] | null | undefined, distinct: boolean | null | undefined): SQL {
  if (!columns || columns.length === 0) return sql`count(*)`;
  const values = columns.map((c) => sql`${alias}.${sql.identifier(c)}`);
  const present = sql.join(values.map((v) => sql`${v} is not null`), " and ");
  if (values.length === 1) return distinct ? sql`count(distinct ${values[0]!})` : sql`count(${values[0]!})`;
  return distinct
    ? sql`count(distinct (${sql.join(values, ", ")})) filter (where ${present})`
    : sql`count(*) filter (where ${present})`;
}

/** How each aggregate select was made, so that `count(columns:, distinct:)` can make a sibling select. */
const aggregateSelects = new WeakMap<PgSelectStep, { source: RowSource; args: ArgSteps; correlation: Correlation }>();

function selectAggregate(source: RowSource, args: ArgSteps, correlation: Correlation): PgSelectSingleStep {
  const $select = selectRows(source, args, correlation, "aggregate");
  aggregateSelects.set($select, { source, args, correlation });
  return $select.single() as PgSelectSingleStep;
}

const isAbsent = ($step: Step) => $step instanceof ConstantStep && $step.data === undefined;

/**
 * `count` without arguments is `count(*)` on the aggregate row. With `columns:`/`distinct:` (whose values are
 * only known at run time, one layer deeper than the aggregate select) it reads a sibling aggregate select made
 * in its own layer; that one is inlined into the same statement too.
 */
function planCount($row: PgSelectSingleStep, fieldArgs: { getRaw(name: string): Step }): Step {
  const $columns = fieldArgs.getRaw("columns");
  const $distinct = fieldArgs.getRaw("distinct");
  if (isAbsent($columns) && isAbsent($distinct)) return $row.select(sql`count(*)`, TYPES.bigint, true);
  const made = aggregateSelects.get($row.getClassStep());
  if (!made) throw new Error("count: the aggregate row was not made by selectAggregate");
  const $sibling = selectRows(made.source, made.args, made.correlation, "aggregate");
  const $count = lambda(
    { columns: $columns, distinct: $distinct },
    ({ columns, distinct }) =>
      countExpression($sibling.alias, columns == null ? null : ([] as string[]).concat(columns as string | string[]), distinct as boolean),
    true,
  );
  return ($sibling.single() as PgSelectSingleStep).select(sql`${$sibling.deferredSQL($count)}`, TYPES.bigint, true);
}

function functionsOf(table: TableModel) {
  return AGGREGATE_FUNCTIONS.filter((fn) => columnsForFunction(table, fn).length > 0);
}

/** Registers `<t>_aggregate`, `<t>_aggregate_fields` and `<t>_<fn>_fields` for every table. */
export function registerAggregateTypes(model: DataGraphModel, types: SchemaTypes): void {
  for (const table of model.tables) {
    types.registerObject(names.aggregate(table.name), () => ({
      aggregate: {
        type: types.output(names.aggregateFields(table.name)),
        plan: ($container: AggregateContainerStep) => selectAggregate($container.source, $container.args(), $container.correlation()),
      },
      nodes: {
        type: types.nonNullList(types.output(table.name)),
        plan: ($container: AggregateContainerStep) => selectRows($container.source, $container.args(), $container.correlation()),
      },
    }));
    types.registerObject(names.aggregateFields(table.name), () => {
      const fields: Record<string, PlannedField> = {
        count: {
          type: types.nonNull(types.output("Int")),
          args: { columns: { type: types.list(types.input(names.selectColumn(table.name))) }, distinct: { type: types.input("Boolean") } },
          plan: planCount,
        },
      };
      for (const fn of functionsOf(table)) {
        fields[fn] = { type: types.output(names.aggregateFunctionFields(table.name, fn)), plan: ($row: PgSelectSingleStep) => $row };
      }
      return fields;
    });
    for (const fn of functionsOf(table)) {
      types.registerObject(names.aggregateFunctionFields(table.name, fn), () =>
        Object.fromEntries(
          columnsForFunction(table, fn).map((column): [string, PlannedField] => [
            column.name,
            {
              type: types.output(aggregateScalar(fn, column)),
              plan: ($row: PgSelectSingleStep) =>
                $row.select(aggregateExpression(fn, column, $row.getClassStep().alias), aggregateCodec(fn, column)),
            },
          ]),
        ),
      );
    }
  }
}
