// The federation subgraph shim: `Query._service { sdl }`, so that the gateway's IntrospectAndCompose can compose this
// graph (a Federation 1 style SDL without @link, which composition upgrades). No entities are declared: no other
// subgraph extends these types.
import { Kind, parse, print, printSchema, type DefinitionNode, type GraphQLSchema } from "graphql";
import { constant } from "postgraphile/grafast";

const SERVICE_TYPE = "_Service";
const SERVICE_FIELD = "_service";

/** The schema's SDL without the shim itself (what `_service { sdl }` answers). */
export function subgraphSdl(schema: GraphQLSchema): string {
  const document = parse(printSchema(schema));
  const definitions = document.definitions
    .filter((d) => !("name" in d && d.name?.value === SERVICE_TYPE))
    .map((d): DefinitionNode =>
      d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === "Query"
        ? { ...d, fields: d.fields?.filter((f) => f.name.value !== SERVICE_FIELD) }
        : d,
    );
  return print({ ...document, definitions });
}

/** A plugin adding `_service { sdl }`; each instance remembers the SDL of the schema it helped build. */
export function makeFederationPlugin(): GraphileConfig.Plugin {
  const holder = { sdl: "" };
  return {
    name: "PrefectFederationServicePlugin",
    version: "1.0.0",
    schema: {
      hooks: {
        init(_, build) {
          build.registerObjectType(
            SERVICE_TYPE,
            {},
            () => ({ fields: () => ({ sdl: { type: build.graphql.GraphQLString } }) }),
            "federation _Service",
          );
          return _;
        },
        GraphQLObjectType_fields(fields, build, context) {
          if (!context.scope.isRootQuery) return fields;
          return build.extend(
            fields,
            {
              [SERVICE_FIELD]: {
                type: new build.graphql.GraphQLNonNull(build.getOutputTypeByName(SERVICE_TYPE)),
                plan: () => constant(holder),
              },
            },
            "federation _service",
          );
        },
        finalize(schema) {
          holder.sdl = subgraphSdl(schema);
          return schema;
        },
      },
    },
  };
}
