// The service's SDL must be exactly the service part of the spec's schema-v1.graphql, plus the additions listed in
// BEYOND_V1: every type, field, argument, input field and enum value with the same name and type.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  buildSchema,
  extendSchema,
  isEnumType,
  isInputObjectType,
  isObjectType,
  isScalarType,
  parse,
  type GraphQLNamedType,
  type GraphQLSchema,
} from "graphql";
import { describe, expect, test } from "vitest";
import { buildServiceSchema } from "../../services/mutations/src/graphql/schema.ts";

const SPEC = fileURLToPath(new URL("../spec/schema-v1.graphql", import.meta.url));

/** The spec's service part: everything after the Hasura `type Mutation { … }` block, plus the three scalars. */
function specServiceSchema(): GraphQLSchema {
  const text = readFileSync(SPEC, "utf8");
  const start = text.indexOf("extend type Mutation", text.indexOf("\ntype Mutation {"));
  expect(start).toBeGreaterThan(0);
  const base = buildSchema("type Query { _placeholder: Int } type Mutation { _placeholder: Int } scalar UUID scalar JSON scalar DateTime");
  return extendSchema(base, parse(text.slice(start)));
}

/** A comparable description of a named type. */
function shape(type: GraphQLNamedType): unknown {
  if (isObjectType(type)) {
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((field) => field.name !== "_placeholder" && field.name !== "_service")
        .map((field) => [field.name, { type: String(field.type), args: Object.fromEntries(field.args.map((arg) => [arg.name, String(arg.type)])) }]),
    );
  }
  if (isInputObjectType(type)) return Object.fromEntries(Object.values(type.getFields()).map((field) => [field.name, String(field.type)]));
  if (isEnumType(type)) return type.getValues().map((value) => value.name);
  if (isScalarType(type)) return "scalar";
  return type.constructor.name;
}

const isOwnType = (name: string) =>
  !name.startsWith("__") && !name.startsWith("_") && !name.startsWith("link__") && !name.startsWith("federation__") &&
  !["String", "Int", "Float", "Boolean", "ID"].includes(name);

function types(schema: GraphQLSchema): Record<string, unknown> {
  return Object.fromEntries(
    Object.values(schema.getTypeMap())
      .filter((type) => isOwnType(type.name))
      .map((type) => [type.name, shape(type)]),
  );
}

/**
 * What this server adds to v1's service schema, on purpose: Prefect Cloud's version locking (docs/version-locking.md)
 * and concurrency limits under Prefect Core's and the UI's names (docs/concurrency.md).
 */
const BEYOND_V1 = `
extend type Query {
  task_concurrency(names: [String!], tenant_id: UUID): [task_concurrency_usage!]!
  flow_concurrency(labels: [String!], tenant_id: UUID): [flow_concurrency_usage!]!
}
extend type Mutation {
  enable_flow_version_lock(input: enable_flow_version_lock_input!): success_payload
  disable_flow_version_lock(input: disable_flow_version_lock_input!): success_payload
  update_task_tag_limit(input: update_task_tag_limit_input!): concurrency_limit_id_payload
  delete_task_tag_limit(input: delete_task_tag_limit_input!): success_payload
  update_task_concurrency_limit(input: update_task_concurrency_limit_input!): concurrency_limit_id_payload
  delete_task_concurrency_limit(input: delete_task_concurrency_limit_input!): success_payload
  update_flow_concurrency_limit(input: update_flow_concurrency_limit_input!): concurrency_limit_id_payload
  delete_flow_concurrency_limit(input: delete_flow_concurrency_limit_input!): success_payload
}
input enable_flow_version_lock_input { flow_id: UUID! }
input disable_flow_version_lock_input { flow_id: UUID! }
type task_concurrency_usage { name: String! usage: Int! }
type flow_concurrency_usage { label: String! usage: Int! }
type concurrency_limit_id_payload { id: UUID }
input update_task_tag_limit_input { tag: String! limit: Int! tenant_id: UUID }
input delete_task_tag_limit_input { limit_id: UUID! }
input update_task_concurrency_limit_input { name: String! limit: Int! tenant_id: UUID }
input delete_task_concurrency_limit_input { limit_id: UUID! }
input update_flow_concurrency_limit_input { label: String name: String limit: Int! tenant_id: UUID }
input delete_flow_concurrency_limit_input { limit_id: UUID! }
`;

describe("service schema", () => {
  const v1 = specServiceSchema();
  const spec = types(extendSchema(v1, parse(BEYOND_V1)));
  const ours = types(buildServiceSchema());

  test("defines exactly the spec's service types", () => {
    expect(Object.keys(ours).sort()).toEqual(Object.keys(spec).sort());
  });

  test("every type has the spec's fields, arguments and values", () => {
    for (const name of Object.keys(spec)) expect({ [name]: ours[name] }).toEqual({ [name]: spec[name] });
  });

  test("has v1's 59 mutations and 5 queries", () => {
    expect(Object.keys(v1.getMutationType()!.getFields()).filter((name) => name !== "_placeholder")).toHaveLength(59);
    expect(Object.keys(v1.getQueryType()!.getFields()).filter((name) => name !== "_placeholder").sort()).toEqual(["api", "get_task_run_info", "hello", "mapped_children", "reference_data"]);
  });
});
