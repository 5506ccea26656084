// The PostGraphile preset of the data graph: PostGraphile's introspection and execution, none of its generated
// API (no CRUD, no Relay node/connections, no camelCase), and instead v1's Hasura-shaped API built by the modules
// in ./hasura from the table model.
import pg from "pg";
import type { GraphQLEnumValueConfigMap, GraphQLInputFieldConfigMap, GraphQLInputType, GraphQLOutputType, GraphQLSchema } from "graphql";
import { makeSchema } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { SESSION_OPTIONS, withSessionOptions } from "../../shared/src/database/session.ts";
import { registerAggregateTypes } from "./hasura/aggregates.ts";
import { registerSelectColumnEnums } from "./hasura/arguments.ts";
import { registerFilterTypes } from "./hasura/filters.ts";
import { registerFunctionArgTypes, rootFunctionFields } from "./hasura/functions.ts";
import { graphqlTableName } from "./hasura/metadata.ts";
import { buildModel, type DataGraphModel } from "./hasura/model.ts";
import { liftLiterals, substituteKnownShape } from "./hasura/literals.ts";
import { normalizeOrderBy } from "./hasura/normalize.ts";
import { registerOrderingTypes } from "./hasura/ordering.ts";
import { tableSource, type RowSource } from "./hasura/query.ts";
import { relationshipFields } from "./hasura/relationships.ts";
import { REPLACEMENT_CODECS, scalarConfigs } from "./hasura/scalars.ts";
import { columnFields, rootTableFields } from "./hasura/tables.ts";
import type { PlannedField, SchemaTypes } from "./hasura/types.ts";
import { registerMutationTypes, rootMutationFields } from "./hasura/mutations.ts";
import { makeFederationPlugin } from "./federation.ts";
import { makeRequestTransactionPlugin } from "./transaction.ts";
import { KnownOperationTypesPlugin } from "./validation.ts";
import { makeMaskError } from "./errors.ts";
import { makeCancellationPlugin } from "./cancellation.ts";
import { makeOperationMetricsPlugin } from "./metrics.ts";
import { loadConfig, type Config } from "../../shared/src/config.ts";
import { logger, type Logger } from "../../shared/src/logger.ts";
import type { OperationMetrics } from "../../shared/src/metrics.ts";

declare global {
  // graphile-build's Build type is a global namespace; augmenting it is how plugins add to `build`.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace GraphileBuild {
    interface Build {
      hasuraModel: DataGraphModel;
    }
    interface SchemaOptions {
      /** Add v1's Hasura table mutations (`services.postgraphile.enable_table_mutations`). */
      hasuraTableMutations?: boolean;
      /** Most rows any list returns (`services.postgraphile.max_rows`); 0 or absent: no cap. */
      hasuraMaxRows?: number;
      /** Plan documents that differ only in scalar literals once (hasura/literals.ts); default true. */
      hasuraLiftLiterals?: boolean;
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace DataplanPg {
    interface PgResourceUniqueExtensions {
      /** The name of the primary key or unique constraint (Hasura's `<t>_constraint` values). */
      constraintName?: string;
    }
  }
}

/** PostGraphile plugins whose generated fields and types v1's API does not have. */
const DISABLED_PLUGINS = [
  "QueryQueryPlugin",
  "NodePlugin",
  "AddNodeInterfaceToSuitableTypesPlugin",
  "NodeAccessorPlugin",
  "MutationPayloadQueryPlugin",
  "PgTableNodePlugin",
  "PgNodeIdAttributesPlugin",
  "PgAllRowsPlugin",
  "PgRowByUniquePlugin",
  "PgConditionArgumentPlugin",
  "PgConditionCustomFieldsPlugin",
  "PgConnectionArgOrderByPlugin",
  "PgConnectionArgOrderByDefaultValuePlugin",
  "PgConnectionTotalCountPlugin",
  "PgFirstLastBeforeAfterArgsPlugin",
  "PgOrderAllAttributesPlugin",
  "PgOrderByPrimaryKeyPlugin",
  "PgOrderCustomFieldsPlugin",
  "PgMutationCreatePlugin",
  "PgMutationUpdateDeletePlugin",
  "PgMutationPayloadEdgePlugin",
  "PgProceduresPlugin",
  "PgCustomTypeFieldPlugin",
  "PgRefsPlugin",
  "PgJWTPlugin",
  "SwallowErrorsPlugin",
];

/** Adapts graphile-build's registration API to the small interface the hasura modules use. */
function schemaTypes(build: GraphileBuild.Build): SchemaTypes {
  const { GraphQLList, GraphQLNonNull, GraphQLInt, GraphQLString, GraphQLBoolean, GraphQLFloat } = build.graphql;
  const builtins: Record<string, GraphQLInputType & GraphQLOutputType> = {
    Int: GraphQLInt,
    String: GraphQLString,
    Boolean: GraphQLBoolean,
    Float: GraphQLFloat,
  };
  return {
    input: (name) => builtins[name] ?? build.getInputTypeByName(name),
    output: (name) => builtins[name] ?? build.getOutputTypeByName(name),
    list: <T,>(type: T) => new GraphQLList(new GraphQLNonNull(type as GraphQLInputType)) as T,
    nonNullList: <T,>(type: T) => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type as GraphQLInputType))) as T,
    nonNull: <T,>(type: T) => new GraphQLNonNull(type as GraphQLInputType) as T,
    registerInputObject: (name: string, fields: () => GraphQLInputFieldConfigMap) =>
      build.registerInputObjectType(name, {}, () => ({ fields }), `hasura ${name}`),
    registerEnum: (name: string, values: GraphQLEnumValueConfigMap) =>
      build.registerEnumType(name, {}, () => ({ values }), `hasura ${name}`),
    registerObject: (name: string, fields: () => Record<string, PlannedField>) =>
      build.registerObjectType(name, {}, () => ({ fields: () => fields() as never }), `hasura ${name}`),
  };
}

const sourcesByBuild = new WeakMap<DataGraphModel, Map<string, RowSource>>();
function sources(model: DataGraphModel): Map<string, RowSource> {
  let map = sourcesByBuild.get(model);
  if (!map) sourcesByBuild.set(model, (map = new Map(model.tables.map((t) => [t.name, tableSource(t)]))));
  return map;
}

/**
 * Hasura's scalars, registered before PgCodecsPlugin looks for a GraphQL type for every codec (so that our
 * timestamptz and interval codecs are known and it does not warn about them).
 */
export const HasuraScalarsPlugin: GraphileConfig.Plugin = {
  name: "PrefectHasuraScalarsPlugin",
  description: "Hasura's scalars (uuid, timestamptz, jsonb, interval, _uuid) and the codecs they stand for",
  version: "1.0.0",
  schema: {
    hooks: {
      init: {
        after: ["pg-standard-types"],
        before: ["PgCodecs"],
        callback(_, build) {
          for (const config of Object.values(scalarConfigs)) {
            build.registerScalarType(config.name, {}, () => config, `hasura scalar ${config.name}`);
          }
          for (const [name, codec] of Object.entries(REPLACEMENT_CODECS)) {
            build.setGraphQLTypeForPgCodec(codec, ["input", "output"], name);
          }
          return _;
        },
      },
    },
  },
};

export const HasuraPlugin: GraphileConfig.Plugin = {
  name: "PrefectHasuraPlugin",
  description: "Prefect Server v1's Hasura-shaped API over the tracked tables",
  version: "1.0.0",
  inflection: {
    replace: {
      tableType(_previous, _options, codec) {
        const pg = codec.extensions?.pg;
        return pg ? graphqlTableName({ schema: pg.schemaName, table: pg.name }) : codec.name;
      },
    },
  },
  gather: {
    hooks: {
      pgTables_unique(_info, event) {
        event.unique.extensions = { ...event.unique.extensions, constraintName: event.pgConstraint.conname };
      },
      pgCodecs_findPgCodec(_info, event) {
        const replacement = REPLACEMENT_CODECS[event.pgType.typname];
        if (replacement && event.pgType.getNamespace()?.nspname === "pg_catalog") event.pgCodec = replacement;
      },
    },
  },
  schema: {
    hooks: {
      build(build) {
        const maxRows = build.options.hasuraMaxRows || null;
        return build.extend(build, { hasuraModel: buildModel(build.input.pgRegistry, { maxRows }) }, "hasura table model");
      },
      init: {
        after: ["PgCodecs", "PgTables"],
        callback(_, build) {
          const model = build.hasuraModel;
          const types = schemaTypes(build);
          registerSelectColumnEnums(model, types);
          registerFilterTypes(model, types);
          registerOrderingTypes(model, types);
          registerAggregateTypes(model, types);
          registerFunctionArgTypes(model, types);
          if (build.options.hasuraTableMutations) registerMutationTypes(model, types);
          return _;
        },
      },
      GraphQLObjectType_fields(fields, build, context) {
        const model = build.hasuraModel;
        const types = schemaTypes(build);
        const { scope } = context;
        if (scope.isRootQuery) {
          return build.extend(
            fields,
            { ...rootTableFields(model, types, sources(model)), ...rootFunctionFields(model, types) } as never,
            "hasura root fields",
          );
        }
        if (scope.isRootMutation && build.options.hasuraTableMutations) {
          return build.extend(fields, rootMutationFields(model, types) as never, "hasura table mutations");
        }
        if (scope.isPgClassType && scope.pgCodec) {
          const table = model.tables.find((t) => t.resource.codec === scope.pgCodec);
          if (!table) return fields;
          return build.extend(
            fields,
            { ...columnFields(table, types), ...relationshipFields(table, types) } as never,
            `hasura fields of ${table.name}`,
          );
        }
        return fields;
      },
    },
  },
  grafserv: {
    middleware: {
      processGraphQLRequestBody(next, event) {
        if (event.resolvedPreset.schema?.hasuraLiftLiterals !== false) substituteKnownShape(event.resolvedPreset, event.body);
        return next();
      },
    },
  },
  grafast: {
    middleware: {
      prepareArgs(next, event) {
        const { schema, resolvedPreset } = event.args;
        const lifted = resolvedPreset?.schema?.hasuraLiftLiterals === false
          ? event.args
          : liftLiterals(schema, event.args.document, event.args.variableValues as Record<string, unknown> | undefined, resolvedPreset);
        const { document, variableValues } = normalizeOrderBy(schema, lifted.document, lifted.variableValues as Record<string, unknown> | undefined);
        event.args.document = document;
        event.args.variableValues = variableValues;
        return next();
      },
    },
  },
};

/** The data graph's bounds (services.postgraphile.statement_timeout_seconds and max_rows; 0 turns one off). */
export interface DataGraphLimits {
  statementTimeoutSeconds: number;
  maxRows: number;
}

/** The configured bounds of the data graph. */
export const dataGraphLimits = (config: Config): DataGraphLimits => ({
  statementTimeoutSeconds: config.services.postgraphile.statement_timeout_seconds,
  maxRows: config.services.postgraphile.max_rows,
});

/** The configuration's defaults, for tests and tools that build a data graph without a configuration. */
export const DEFAULT_LIMITS: DataGraphLimits = dataGraphLimits(loadConfig({ env: {}, ignoreUserFile: true }));

export interface DataGraphOptions {
  /** Postgres URL; a pool is created (and ended by `release`). */
  connectionString: string;
  poolSize?: number;
  /** The pg Client class of the pool (tests count statements with a subclass). */
  client?: typeof pg.Client;
  /** Expose v1's Hasura table mutations (`services.postgraphile.enable_table_mutations`). */
  enableTableMutations?: boolean;
  /** See DataGraphPresetOptions.liftLiterals. */
  liftLiterals?: boolean;
  limits?: DataGraphLimits;
  log?: Pick<Logger, "error" | "warn">;
  operations?: OperationMetrics;
}

export interface DataGraphPresetOptions {
  log?: Pick<Logger, "error" | "warn">;
  enableTableMutations?: boolean;
  /** Share plans between documents that differ only in scalar literals (default true; tests compare both). */
  liftLiterals?: boolean;
  limits?: DataGraphLimits;
  /** Where the operations are counted (absent: metrics off). */
  operations?: OperationMetrics;
}

export interface DataGraphPoolOptions {
  max?: number;
  client?: typeof pg.Client;
  /** Postgres cancels a statement running longer (0: never). */
  statementTimeoutSeconds?: number;
}

/**
 * A pool whose sessions read naive timestamps as UTC and print intervals as Postgres text, as v1's database did
 * (with the session settings of every service pool), and stop a statement at the data graph's statement timeout.
 */
export function createDataGraphPool(connectionString: string, options: DataGraphPoolOptions = {}): pg.Pool {
  const timeoutMs = (options.statementTimeoutSeconds ?? DEFAULT_LIMITS.statementTimeoutSeconds) * 1000;
  const pool = new pg.Pool({
    ...withSessionOptions(connectionString, `-c TimeZone=UTC -c IntervalStyle=postgres -c statement_timeout=${timeoutMs} ${SESSION_OPTIONS}`),
    max: options.max ?? 10,
    ...(options.client ? { Client: options.client } : {}),
    application_name: "prefect-server-postgraphile",
  });
  pool.on("error", () => {});
  return pool;
}

export function makeDataGraphPreset(pool: pg.Pool, options: DataGraphPresetOptions = {}): GraphileConfig.Preset {
  const log = options.log ?? logger("PostGraphile");
  const limits = options.limits ?? DEFAULT_LIMITS;
  return {
    extends: [PostGraphileAmberPreset],
    plugins: [
      // first, so that its timing includes what the plugins below add (a mutation's transaction)
      ...(options.operations ? [makeOperationMetricsPlugin(options.operations)] : []),
      HasuraScalarsPlugin,
      HasuraPlugin,
      makeFederationPlugin(),
      KnownOperationTypesPlugin,
      ...(options.enableTableMutations ? [makeRequestTransactionPlugin(pool)] : []),
      // after the transaction plugin, so that it sees the client holding a mutation's transaction
      makeCancellationPlugin(pool, log),
    ],
    disablePlugins: DISABLED_PLUGINS,
    pgServices: [makePgService({ pool, schemas: ["public", "utility"] })],
    schema: {
      dontSwallowErrors: true,
      hasuraTableMutations: options.enableTableMutations ?? false,
      hasuraLiftLiterals: options.liftLiterals ?? true,
      hasuraMaxRows: limits.maxRows,
      // PgRelationsPlugin and PgAttributesPlugin stay (introspection needs them) but generate nothing.
      defaultBehavior:
        "-singularRelation:resource:single -manyRelation:resource:list -manyRelation:resource:connection -connection -list -attribute:select -attribute:base -attribute:insert -attribute:update -attribute:filterBy -attribute:orderBy",
    },
    // (the playground is the service's own, offline: shared/src/playground.ts)
    grafserv: { graphqlPath: "/graphql", graphiql: false, maskError: makeMaskError(log, limits) },
    grafast: { explain: false },
  };
}

export interface DataGraphSchema {
  schema: GraphQLSchema;
  resolvedPreset: GraphileConfig.ResolvedPreset;
  pool: pg.Pool;
  /** Ends the pool. */
  release(): Promise<void>;
}

/** Builds the data graph's schema (for the gateway to run in-process, and for tests). */
export async function makeDataGraphSchema(options: DataGraphOptions | string): Promise<DataGraphSchema> {
  const { connectionString, poolSize, client, enableTableMutations, liftLiterals, limits, log, operations } =
    typeof options === "string" ? ({ connectionString: options } as DataGraphOptions) : options;
  const pool = createDataGraphPool(connectionString, { max: poolSize, client, statementTimeoutSeconds: limits?.statementTimeoutSeconds });
  try {
    const { schema, resolvedPreset } = await makeSchema(makeDataGraphPreset(pool, { enableTableMutations, liftLiterals, limits, log, operations }));
    return { schema, resolvedPreset, pool, release: () => pool.end() };
  } catch (error) {
    await pool.end();
    throw error;
  }
}
