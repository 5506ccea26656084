// Compares the Hasura part of two GraphQL schemas: every type reachable from the given root fields, with its kind,
// fields (output type, arguments with their types and defaults), input fields (type, default) and enum values.
// Each difference is one line keyed by a stable path, e.g.
//   flow_run.logs(limit): Int ≠ Int!        tenant_on_conflict.update_columns: default [] ≠ none
//   type flow_run_inc_input: missing        type flow_run_inc_input: extra
// so that a documented allow-list can name the exact lines it accepts.
import {
  astFromValue,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  print,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLSchema,
} from "graphql";

/** The root fields of each operation type that make up the compared part. */
export interface RootSelection {
  query: readonly string[];
  mutation: readonly string[];
}

/** The root fields a schema document defines in its `type Query {…}` / `type Mutation {…}` (not in `extend type`). */
export function definedRootFields(sdl: string, typeName: string): string[] {
  return parse(sdl).definitions.flatMap((d) =>
    d.kind === Kind.OBJECT_TYPE_DEFINITION && d.name.value === typeName ? (d.fields ?? []).map((f) => f.name.value) : [],
  );
}

/** Every named type reachable from `roots`, by name. */
export function reachableTypes(schema: GraphQLSchema, roots: RootSelection): Map<string, GraphQLNamedType> {
  const found = new Map<string, GraphQLNamedType>();
  const visit = (type: GraphQLNamedType) => {
    if (found.has(type.name)) return;
    found.set(type.name, type);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) visitField(field);
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) visit(getNamedType(field.type));
    } else if (isUnionType(type)) {
      type.getTypes().forEach(visit);
    }
  };
  const visitField = (field: GraphQLField<unknown, unknown>) => {
    visit(getNamedType(field.type));
    for (const arg of field.args) visit(getNamedType(arg.type));
  };
  const rootFields = (type: ReturnType<GraphQLSchema["getQueryType"]>, names: readonly string[]) => {
    for (const name of names) {
      const field = type?.getFields()[name];
      if (field) visitField(field);
    }
  };
  rootFields(schema.getQueryType(), roots.query);
  rootFields(schema.getMutationType(), roots.mutation);
  return found;
}

const kindOf = (type: GraphQLNamedType) =>
  isObjectType(type) ? "object" : isInputObjectType(type) ? "input" : isEnumType(type) ? "enum" : isScalarType(type) ? "scalar" : isUnionType(type) ? "union" : "interface";

function defaultOf(value: GraphQLArgument | GraphQLInputField): string {
  if (value.defaultValue === undefined) return "none";
  const ast = astFromValue(value.defaultValue, value.type);
  return ast ? print(ast) : "none";
}

/** `a ≠ b` lines for two maps keyed by name, with `missing` (only in expected) and `extra` (only in actual). */
function compareKeyed<T>(
  label: (name: string) => string,
  expected: ReadonlyMap<string, T>,
  actual: ReadonlyMap<string, T>,
  compare: (path: string, expected: T, actual: T) => string[],
): string[] {
  const lines: string[] = [];
  for (const [name, value] of expected) {
    const other = actual.get(name);
    lines.push(...(other === undefined ? [`${label(name)}: missing`] : compare(label(name), value, other)));
  }
  for (const name of actual.keys()) if (!expected.has(name)) lines.push(`${label(name)}: extra`);
  return lines;
}

const same = (path: string, what: string, expected: string, actual: string) => (expected === actual ? [] : [`${path}: ${what}${expected} ≠ ${actual}`]);

function compareInputValue(path: string, expected: GraphQLArgument | GraphQLInputField, actual: GraphQLArgument | GraphQLInputField): string[] {
  return [...same(path, "", String(expected.type), String(actual.type)), ...same(path, "default ", defaultOf(expected), defaultOf(actual))];
}

const byName = <T extends { name: string }>(items: readonly T[]) => new Map(items.map((item) => [item.name, item]));

function compareField(path: string, expected: GraphQLField<unknown, unknown>, actual: GraphQLField<unknown, unknown>): string[] {
  return [
    ...same(path, "", String(expected.type), String(actual.type)),
    ...compareKeyed((arg) => `${path}(${arg})`, byName(expected.args), byName(actual.args), compareInputValue),
  ];
}

function compareType(name: string, expected: GraphQLNamedType, actual: GraphQLNamedType): string[] {
  if (kindOf(expected) !== kindOf(actual)) return [`type ${name}: ${kindOf(expected)} ≠ ${kindOf(actual)}`];
  if (isObjectType(expected) && isObjectType(actual)) {
    return compareKeyed((field) => `${name}.${field}`, new Map(Object.entries(expected.getFields())), new Map(Object.entries(actual.getFields())), compareField);
  }
  if (isInputObjectType(expected) && isInputObjectType(actual)) {
    return compareKeyed((field) => `${name}.${field}`, new Map(Object.entries(expected.getFields())), new Map(Object.entries(actual.getFields())), compareInputValue);
  }
  if (isEnumType(expected) && isEnumType(actual)) {
    return compareKeyed((field) => `${name}.${field}`, byName(expected.getValues()), byName(actual.getValues()), () => []);
  }
  return [];
}

/**
 * The differences between the `expected` and `actual` schemas over the types reachable from their root selections,
 * sorted; the root types themselves are compared field by field over the selected root fields only.
 */
export function diffSchemas(
  expected: { schema: GraphQLSchema; roots: RootSelection },
  actual: { schema: GraphQLSchema; roots: RootSelection },
): string[] {
  const lines: string[] = [];
  const rootNames = new Set([expected.schema.getQueryType()?.name, expected.schema.getMutationType()?.name, actual.schema.getQueryType()?.name, actual.schema.getMutationType()?.name]);
  const expectedTypes = reachableTypes(expected.schema, expected.roots);
  const actualTypes = reachableTypes(actual.schema, actual.roots);
  for (const [name, type] of expectedTypes) {
    if (rootNames.has(name)) continue;
    const other = actualTypes.get(name);
    lines.push(...(other ? compareType(name, type, other) : [`type ${name}: missing`]));
  }
  for (const name of actualTypes.keys()) if (!rootNames.has(name) && !expectedTypes.has(name)) lines.push(`type ${name}: extra`);
  for (const [operation, key] of [
    ["Query", "query"],
    ["Mutation", "mutation"],
  ] as const) {
    const fields = (side: typeof expected) => {
      const type = key === "query" ? side.schema.getQueryType() : side.schema.getMutationType();
      return new Map(side.roots[key].flatMap((n) => (type?.getFields()[n] ? [[n, type.getFields()[n]!] as const] : [])));
    };
    lines.push(...compareKeyed((field) => `${operation}.${field}`, fields(expected), fields(actual), compareField));
  }
  return lines.sort();
}

/**
 * The differences no entry of the allow-list accepts; adds the entries that accepted one to `used` (so that the
 * caller can fail on entries that no longer occur).
 */
export function unacceptedDifferences(differences: readonly string[], entries: readonly string[], used: Set<string>): string[] {
  return differences.filter((difference) => {
    const entry = acceptingEntry(entries, difference);
    if (entry) used.add(entry);
    return !entry;
  });
}

/**
 * The entry of an allow-list that accepts a difference, or undefined. An entry may hold `*`, which stands for any
 * run of characters (`type task_tag_limit*: extra` accepts every type generated for that table).
 */
export function acceptingEntry(entries: readonly string[], difference: string): string | undefined {
  return entries.find((entry) =>
    entry.includes("*")
      ? new RegExp(`^${entry.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(difference)
      : entry === difference,
  );
}
