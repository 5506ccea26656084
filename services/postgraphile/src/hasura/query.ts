// Plans for everything that reads rows: a list (`<t>`, an array relationship), an aggregate's rows, one row by
// key. Each is one PgSelect; PostGraphile inlines nested PgSelects into their parent's statement, so a root field
// is one SQL statement however deep the selection goes.
//
// Hasura's arguments map onto it as follows:
//   where                 WHERE (filters.ts)
//   order_by              ORDER BY (ordering.ts), then PostGraphile's primary-key tie-breaker
//   limit / offset        PgSelect's own LIMIT/OFFSET (per parent row when nested); LIMIT never above the row
//                         cap (services.postgraphile.max_rows), as Hasura's per-role row limit capped it
//   distinct_on           FROM (select distinct on (...) ... where ... order by ...): DISTINCT ON runs before
//                         LIMIT, and per parent row when nested (the parent's join columns lead the DISTINCT ON)
//   aggregate + limit     FROM a ranked subquery, so the aggregate sees only the limited rows (per parent)
import { lambda, SafeError, type Step } from "postgraphile/grafast";
import {
  pgSelect,
  PgResource,
  recordCodec,
  TYPES,
  type PgCodec,
  type PgSelectQueryBuilder,
  type PgSelectSingleStep,
  type PgSelectStep,
} from "postgraphile/@dataplan/pg";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { compileBoolExp } from "./filters.ts";
import type { RelationshipModel, TableModel } from "./model.ts";
import { compileOrderBy, type OrderTerm } from "./ordering.ts";

/** The raw (coerced) values of Hasura's list arguments, plus a function root's `args`. */
export interface ListArgValues {
  where?: unknown;
  order_by?: unknown;
  distinct_on?: unknown;
  limit?: unknown;
  offset?: unknown;
  args?: unknown;
}

/** Where rows come from: a table, or a set-returning function whose SQL depends on the field's `args`. */
export interface RowSource {
  table: TableModel;
  /** FROM item for the given field arguments; a function source is numbered `with ordinality`. */
  from(args: ListArgValues): SQL;
  /** Function sources keep the function's own row order as the last tie-breaker. */
  ordinality: boolean;
}

export const tableSource = (table: TableModel): RowSource => ({ table, from: () => table.from, ordinality: false });

/** How a nested select is tied to its parent row. */
export interface Correlation {
  identifiers: Array<{ step: Step; codec: PgCodec; matches: (alias: SQL) => SQL }>;
  /** Target columns that identify the parent: DISTINCT ON and ranked subqueries partition by them. */
  partitionBy: readonly string[];
}

export interface CompiledArgs {
  where: ((alias: SQL) => SQL) | null;
  orders: OrderTerm[];
  distinctOn: string[] | null;
  limit: number | null;
  offset: number | null;
  from: SQL;
}

type ArgSteps = { [K in keyof ListArgValues]: Step };

const asList = <T>(value: T | readonly T[]): readonly T[] => (Array.isArray(value) ? value : [value as T]);

function nonNegativeInt(name: string, value: unknown): number | null {
  if (value == null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new SafeError(`expected a non-negative integer for "${name}", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Validates and compiles the argument values of one field (runs once per request, not per row). */
export function compileArgs(source: RowSource, values: ListArgValues): CompiledArgs {
  const table = source.table;
  const where = values.where == null ? null : (alias: SQL) => compileBoolExp(table, values.where, alias);
  const orders = compileOrderBy(table, values.order_by);
  const distinctOn = values.distinct_on == null ? null : [...new Set(asList(values.distinct_on as string))];
  if (distinctOn && distinctOn.length > 0 && orders.length > 0) {
    const leading = orders.slice(0, distinctOn.length).map((o) => o.column);
    if (leading.length < distinctOn.length || !distinctOn.every((c) => leading.includes(c))) {
      throw new SafeError('"distinct_on" columns must match initial "order_by" columns');
    }
  }
  return {
    where,
    orders,
    distinctOn: distinctOn && distinctOn.length > 0 ? distinctOn : null,
    limit: nonNegativeInt("limit", values.limit),
    offset: nonNegativeInt("offset", values.offset),
    from: source.from(values),
  };
}

/**
 * What breaks ties after `order_by`, so that results are deterministic: a function's own row order, else the
 * primary key ascending (v1 left the order of ties unspecified).
 */
function tieBreakers(source: RowSource, alias: SQL): Array<{ fragment: SQL; codec: PgCodec }> {
  if (source.ordinality) return [{ fragment: sql`${alias}.ordinality`, codec: TYPES.bigint }];
  return (source.table.primaryKey ?? []).map((column) => ({
    fragment: sql`${alias}.${sql.identifier(column)}`,
    codec: source.table.column.get(column)!.codec,
  }));
}

function orderSql(terms: readonly OrderTerm[], alias: SQL): SQL[] {
  return terms.map((t) => sql`${t.expression(alias)} ${t.direction === "ASC" ? sql`asc` : sql`desc`} ${t.nulls === "FIRST" ? sql`nulls first` : sql`nulls last`}`);
}

/**
 * The FROM item for `compiled`. Plain when WHERE/ORDER BY/LIMIT can sit on the outer select; a subquery (holding
 * the WHERE) when DISTINCT ON is asked for, or when an aggregate must only see the LIMIT/OFFSET window.
 */
export function fromItem(source: RowSource, compiled: CompiledArgs, partitionBy: readonly string[], aggregate: boolean): SQL {
  const windowed = aggregate && (compiled.limit != null || (compiled.offset ?? 0) > 0);
  if (!compiled.distinctOn && !windowed) return compiled.from;
  const alias = sql.identifier(Symbol("source"));
  const column = (name: string) => sql`${alias}.${sql.identifier(name)}`;
  const where = compiled.where ? compiled.where(alias) : sql.true;
  const partition = partitionBy.map(column);
  const tieBreak = tieBreakers(source, alias).map((t) => t.fragment);
  let rows: SQL;
  if (compiled.distinctOn) {
    const distinct = [...partition, ...compiled.distinctOn.map(column)];
    const orderBy = [...partition, ...(compiled.orders.length ? orderSql(compiled.orders, alias) : compiled.distinctOn.map(column)), ...tieBreak];
    rows = sql`select distinct on (${sql.join(distinct, ", ")}) ${alias}.* from ${compiled.from} as ${alias} where ${where} order by ${sql.join(orderBy, ", ")}`;
  } else {
    rows = sql`select ${alias}.* from ${compiled.from} as ${alias} where ${where}`;
  }
  if (!windowed) return sql`(${rows})`;
  const ranked = sql.identifier(Symbol("ranked"));
  const rank = sql.identifier("__hasura_rank");
  const orderBy = [...orderSql(compiled.orders, ranked), ...tieBreakers(source, ranked).map((t) => t.fragment)];
  const window = sql`${partition.length ? sql`partition by ${sql.join(partitionBy.map((c) => sql`${ranked}.${sql.identifier(c)}`), ", ")}` : sql.blank} ${orderBy.length ? sql`order by ${sql.join(orderBy, ", ")}` : sql.blank}`;
  const offset = compiled.offset ?? 0;
  const upper = compiled.limit == null ? sql.blank : sql` and ${rank} <= ${sql.literal(offset + compiled.limit)}`;
  return sql`(select * from (select ${ranked}.*, row_number() over (${window}) as ${rank} from (${rows}) as ${ranked}) as ${ranked} where ${rank} > ${sql.literal(offset)}${upper})`;
}

/** The args of a list field as steps (absent arguments read as undefined). */
export function argSteps(fieldArgs: { getRaw(name: string): Step }, names: ReadonlyArray<keyof ListArgValues>): ArgSteps {
  return Object.fromEntries(names.map((name) => [name, fieldArgs.getRaw(name)])) as ArgSteps;
}

/** A PgSelect over `source` for a list field (or aggregate rows, `mode: "aggregate"`) with Hasura's arguments. */
export function selectRows(
  source: RowSource,
  args: ArgSteps,
  correlation: Correlation | null,
  mode: "normal" | "aggregate" = "normal",
): PgSelectStep {
  const $compiled = lambda(args, (values) => compileArgs(source, values as ListArgValues));
  const partitionBy = correlation?.partitionBy ?? [];
  const aggregate = mode === "aggregate";
  const $select = pgSelect({
    resource: source.table.resource,
    identifiers: correlation?.identifiers ?? [],
    mode,
    from: { callback: ($root) => $root.deferredSQL(lambda($compiled, (c) => fromItem(source, c, partitionBy, aggregate), true)) },
  });
  $select.apply(
    lambda(
      $compiled,
      (compiled) => (qb: PgSelectQueryBuilder) => {
        const inSubquery = compiled.distinctOn != null || (aggregate && (compiled.limit != null || (compiled.offset ?? 0) > 0));
        if (!inSubquery && compiled.where) qb.where(compiled.where(qb.alias));
        for (const term of compiled.orders) {
          qb.orderBy({ fragment: term.expression(qb.alias), codec: term.codec, direction: term.direction, nulls: term.nulls });
        }
        if (aggregate) return;
        for (const { fragment, codec } of tieBreakers(source, qb.alias)) qb.orderBy({ fragment, codec, direction: "ASC" });
        if (source.ordinality || source.table.primaryKey) qb.setOrderIsUnique();
      },
      true,
    ),
  );
  if (!aggregate) {
    // The row cap bounds what a list returns; an aggregate still counts every row.
    const maxRows = source.table.maxRows;
    $select.setFirst(lambda($compiled, (c) => (maxRows === null ? c.limit : Math.min(c.limit ?? maxRows, maxRows)), true));
    $select.setOffset(lambda($compiled, (c) => c.offset, true));
  }
  return $select;
}

/** Ties rows of `relationship.target` to the parent row `$parent` of `relationship.source`. */
export function relationshipCorrelation(relationship: RelationshipModel, $parent: PgSelectSingleStep): Correlation {
  return {
    identifiers: relationship.columns.map(([local, remote]) => ({
      step: $parent.get(local),
      codec: relationship.source.column.get(local)!.codec,
      matches: (alias: SQL) => sql`${alias}.${sql.identifier(remote)}`,
    })),
    partitionBy: relationship.columns.map(([, remote]) => remote),
  };
}

/** The related row of an object relationship (inlined into the parent's statement as a join). */
export function selectRelated(relationship: RelationshipModel, $parent: PgSelectSingleStep): PgSelectSingleStep {
  return pgSelect({
    resource: relationship.target.resource,
    identifiers: relationshipCorrelation(relationship, $parent).identifiers,
  }).single() as PgSelectSingleStep;
}

/** One row by primary key, or null. */
export function selectByPk(table: TableModel, keys: Record<string, Step>): PgSelectSingleStep {
  return pgSelect({
    resource: table.resource,
    identifiers: (table.primaryKey ?? []).map((name) => ({
      step: keys[name]!,
      codec: table.column.get(name)!.codec,
      matches: (alias: SQL) => sql`${alias}.${sql.identifier(name)}`,
    })),
  }).single() as PgSelectSingleStep;
}

/**
 * A one-row select with nothing in it. Root `<t>_aggregate` fields hang their `aggregate` and `nodes` selects off
 * it, so PostGraphile inlines both into this row's statement: one statement for the whole root field.
 */
export function unitRow(table: TableModel): PgSelectSingleStep {
  const executor = table.resource.executor;
  const codec = recordCodec({
    name: "hasura_unit",
    executor,
    identifier: sql`hasura_unit`,
    attributes: { one: { codec: TYPES.int, notNull: true } },
    isAnonymous: true,
  });
  const resource = new PgResource(table.resource.registry, {
    name: "hasura_unit",
    codec,
    executor,
    from: sql`(select 1 as one)`,
    uniques: [{ attributes: ["one"], isPrimary: true }],
  });
  return pgSelect({ resource, identifiers: [] }).single() as PgSelectSingleStep;
}

/** Correlates a select with the unit row (a constant join condition, so it inlines as a subquery). */
export function unitCorrelation($unit: PgSelectSingleStep): Correlation {
  return {
    identifiers: [{ step: $unit.get("one"), codec: TYPES.int, matches: () => sql`1` }],
    partitionBy: [],
  };
}
