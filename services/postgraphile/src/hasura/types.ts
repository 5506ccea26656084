// The small surface of graphile-build the hasura modules register types through (see preset.ts for the adapter).
import type { GraphQLEnumValueConfigMap, GraphQLInputFieldConfigMap, GraphQLInputType, GraphQLOutputType } from "graphql";

/** A field config with a Grafast plan, as graphile-build accepts it. */
export interface PlannedField {
  type: GraphQLOutputType;
  description?: string;
  args?: Record<string, { type: GraphQLInputType; defaultValue?: unknown }>;
  // Plans receive Grafast steps; their exact types vary per field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plan?: (...args: any[]) => any;
}

export interface SchemaTypes {
  input(name: string): GraphQLInputType;
  output(name: string): GraphQLOutputType;
  /** `[T!]` */
  list<T extends GraphQLInputType | GraphQLOutputType>(type: T): T;
  /** `[T!]!` */
  nonNullList<T extends GraphQLInputType | GraphQLOutputType>(type: T): T;
  /** `T!` */
  nonNull<T extends GraphQLInputType | GraphQLOutputType>(type: T): T;
  registerInputObject(name: string, fields: () => GraphQLInputFieldConfigMap): void;
  registerEnum(name: string, values: GraphQLEnumValueConfigMap): void;
  registerObject(name: string, fields: () => Record<string, PlannedField>): void;
}
