// The table model every other module works from: the tracked tables of metadata.ts matched against the
// introspected registry, with their columns (in database order), primary keys and relationships.
import type { PgCodec, PgRegistry, PgResource } from "postgraphile/@dataplan/pg";
import { sql, type SQL } from "postgraphile/pg-sql2";
import { FUNCTIONS, RELATIONSHIPS, TRACKED_TABLES, graphqlTableName, type FunctionSpec } from "./metadata.ts";
import { isComparable, isNumeric, scalarForCodec, type ScalarName } from "./scalars.ts";

export interface ColumnModel {
  name: string;
  codec: PgCodec;
  scalar: ScalarName;
  notNull: boolean;
  /** The SQL type to cast input values to, e.g. `uuid`, `timestamptz`. */
  sqlType: SQL;
}

export interface RelationshipModel {
  name: string;
  kind: "object" | "array";
  source: TableModel;
  target: TableModel;
  /** (column on source, column on target) pairs. */
  columns: ReadonlyArray<readonly [string, string]>;
  /** An object relationship whose source columns are all NOT NULL always finds its row (v1: `flow: flow!`). */
  notNull: boolean;
}

/** A primary key or unique constraint (what `on_conflict: {constraint: …}` names). */
export interface ConstraintModel {
  name: string;
  columns: readonly string[];
}

export interface TableModel {
  /** GraphQL name (`flow_run`, `utility_traversal`). */
  name: string;
  resource: PgResource;
  /** The table itself, schema-qualified. */
  from: SQL;
  columns: readonly ColumnModel[];
  column: ReadonlyMap<string, ColumnModel>;
  primaryKey: readonly string[] | null;
  /** Primary key and unique constraints, by name. */
  constraints: readonly ConstraintModel[];
  relationships: RelationshipModel[];
  relationship: Map<string, RelationshipModel>;
  /** Most rows a list of this table returns (services.postgraphile.max_rows); null: no cap. */
  maxRows: number | null;
  /** No table mutations (metadata.ts). */
  readOnly: boolean;
}

export interface DataGraphModel {
  tables: readonly TableModel[];
  table: ReadonlyMap<string, TableModel>;
  functions: readonly FunctionSpec[];
}

export class ModelError extends Error {
  override name = "ModelError";
}

export const comparableColumns = (table: TableModel) => table.columns.filter((c) => isComparable(c.scalar));
export const numericColumns = (table: TableModel) => table.columns.filter((c) => isNumeric(c.scalar));

/** Builds the model from PostGraphile's registry; throws ModelError naming whatever is missing. */
export interface ModelOptions {
  /** Most rows any list returns (Hasura's per-role row limit); null or absent: no cap. */
  maxRows?: number | null;
}

export function buildModel(registry: PgRegistry, options: ModelOptions = {}): DataGraphModel {
  const resources = Object.values(registry.pgResources) as PgResource[];
  const tables: TableModel[] = TRACKED_TABLES.map((tracked) => {
    const resource = resources.find(
      (r) =>
        !r.parameters &&
        r.codec.attributes &&
        r.codec.extensions?.pg?.schemaName === tracked.schema &&
        r.codec.extensions?.pg?.name === tracked.table,
    );
    if (!resource) throw new ModelError(`Table ${tracked.schema}.${tracked.table} is missing; are the migrations applied?`);
    const attributes = resource.codec.attributes as Record<string, { codec: PgCodec; notNull?: boolean }>;
    const columns = Object.entries(attributes).map(([name, attribute]): ColumnModel => {
      const scalar = scalarForCodec(attribute.codec);
      if (!scalar) {
        throw new ModelError(`Column ${tracked.schema}.${tracked.table}.${name} has unsupported type ${attribute.codec.name}`);
      }
      return { name, codec: attribute.codec, scalar, notNull: !!attribute.notNull, sqlType: attribute.codec.sqlType };
    });
    const primary = resource.uniques.find((u) => u.isPrimary);
    return {
      name: graphqlTableName(tracked),
      resource,
      from: sql.identifier(tracked.schema, tracked.table),
      columns,
      column: new Map(columns.map((c) => [c.name, c])),
      primaryKey: primary ? [...primary.attributes] : null,
      constraints: resource.uniques.flatMap((unique) => {
        const name = unique.extensions?.constraintName;
        return name ? [{ name, columns: [...unique.attributes] }] : [];
      }),
      relationships: [],
      relationship: new Map(),
      maxRows: options.maxRows ?? null,
      readOnly: tracked.readOnly ?? false,
    };
  });
  const byName = new Map(tables.map((t) => [t.name, t]));

  for (const source of tables) {
    for (const spec of RELATIONSHIPS[source.name] ?? []) {
      const target = byName.get(spec.target);
      if (!target) throw new ModelError(`Relationship ${source.name}.${spec.name} targets unknown table ${spec.target}`);
      for (const [local, remote] of spec.columns) {
        if (!source.column.has(local)) throw new ModelError(`Relationship ${source.name}.${spec.name}: no column ${local}`);
        if (!target.column.has(remote)) throw new ModelError(`Relationship ${source.name}.${spec.name}: no column ${spec.target}.${remote}`);
      }
      const notNull =
        spec.kind === "object" &&
        spec.columns.every(([local]) => source.column.get(local)!.notNull) &&
        hasForeignKey(registry, source, target, spec.columns);
      const relationship: RelationshipModel = { name: spec.name, kind: spec.kind, source, target, columns: spec.columns, notNull };
      source.relationships.push(relationship);
      source.relationship.set(spec.name, relationship);
    }
  }
  for (const fn of FUNCTIONS) {
    if (!byName.has(fn.returns)) throw new ModelError(`Function ${fn.name} returns unknown table ${fn.returns}`);
  }
  return { tables, table: byName, functions: FUNCTIONS };
}

/** True when a foreign key backs the object relationship (a manual relationship may find no row). */
function hasForeignKey(
  registry: PgRegistry,
  source: TableModel,
  target: TableModel,
  columns: ReadonlyArray<readonly [string, string]>,
): boolean {
  const relations = (registry.pgRelations as Record<string, Record<string, { remoteResource: PgResource; localAttributes: readonly string[]; remoteAttributes: readonly string[]; isReferencee?: boolean }>>)[
    source.resource.codec.name
  ];
  return Object.values(relations ?? {}).some(
    (relation) =>
      !relation.isReferencee &&
      relation.remoteResource === target.resource &&
      relation.localAttributes.length === columns.length &&
      columns.every(([local, remote], i) => relation.localAttributes[i] === local && relation.remoteAttributes[i] === remote),
  );
}
