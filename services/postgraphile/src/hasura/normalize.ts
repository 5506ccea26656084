// Keeps the key order of `order_by` objects, which Hasura honours (`{name: asc, version: desc}` sorts by name
// first) but GraphQL input coercion does not: graphql-js rebuilds input objects in the type's field order.
//
// Before execution, every `order_by` argument is rewritten into the equivalent list of single-key objects, in the
// order the client wrote the keys: `{name: asc, version: desc}` → `[{name: asc}, {version: desc}]`,
// `{flow: {name: asc, id: desc}}` → `[{flow: {name: asc}}, {flow: {id: desc}}]`. Literals are rewritten in the
// document (once per document); variables holding order_by values in their JSON, per request.
import {
  getNamedType,
  getNullableType,
  isListType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLSchema,
  type ObjectValueNode,
  type ValueNode,
} from "graphql";

interface Rewritten {
  document: DocumentNode;
  /** Variables whose (list) value should be split. */
  orderVariables: ReadonlySet<string>;
}

const cache = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Rewritten>>();

const isOrderByArgument = (node: ArgumentNode, typeInfo: TypeInfo) => {
  const argument = typeInfo.getArgument();
  return (
    node.name.value === "order_by" &&
    !!argument &&
    isListType(getNullableType(argument.type)) &&
    getNamedType(argument.type).name.endsWith("_order_by")
  );
};

/** Splits one order_by object literal into single-path objects, keeping key order; null entries vanish. */
export function splitObjectNode(node: ObjectValueNode): ObjectValueNode[] {
  const parts: ObjectValueNode[] = [];
  for (const field of node.fields) {
    if (field.value.kind === Kind.NULL) continue;
    const values = field.value.kind === Kind.OBJECT ? splitObjectNode(field.value) : [field.value];
    for (const value of values) parts.push({ kind: Kind.OBJECT, fields: [{ ...field, value }] });
  }
  return parts;
}

/** The same for a JSON value (a variable's content). */
export function splitOrderByValue(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap((item) => (item !== null && typeof item === "object" ? splitOrderByValue(item) : [item]));
  if (value === null || typeof value !== "object") return [value];
  const parts: unknown[] = [];
  for (const [key, inner] of Object.entries(value)) {
    if (inner == null) continue;
    const values = typeof inner === "object" && !Array.isArray(inner) ? splitOrderByValue(inner) : [inner];
    for (const part of values) parts.push({ [key]: part });
  }
  return parts;
}

function rewriteValue(value: ValueNode, variables: Map<string, "direct" | "element">): ValueNode {
  if (value.kind === Kind.OBJECT) return { kind: Kind.LIST, values: splitObjectNode(value) };
  if (value.kind === Kind.LIST) {
    return {
      ...value,
      values: value.values.flatMap((item): ValueNode[] => {
        if (item.kind === Kind.OBJECT) return splitObjectNode(item);
        if (item.kind === Kind.VARIABLE) variables.set(item.name.value, "element");
        return [item];
      }),
    };
  }
  if (value.kind === Kind.VARIABLE && variables.get(value.name.value) !== "element") variables.set(value.name.value, "direct");
  return value;
}

function rewrite(schema: GraphQLSchema, document: DocumentNode): Rewritten {
  const typeInfo = new TypeInfo(schema);
  const usage = new Map<string, "direct" | "element">();
  let changed = false;
  const rewritten = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if (!isOrderByArgument(node, typeInfo)) return undefined;
        const value = rewriteValue(node.value, usage);
        if (value === node.value) return undefined;
        changed = true;
        return { ...node, value };
      },
    }),
  );
  // A variable that is a whole order_by argument is declared as a list ([X_order_by!]; GraphQL allows no other
  // type there), so its value may be replaced by the split list. One used as a list element is left alone.
  const orderVariables = new Set([...usage].filter(([, how]) => how === "direct").map(([name]) => name));
  return { document: changed ? rewritten : document, orderVariables };
}

/** Rewrites `document` and `variableValues` so that every order_by keeps the client's key order. */
export function normalizeOrderBy(
  schema: GraphQLSchema,
  document: DocumentNode,
  variableValues: Record<string, unknown> | null | undefined,
): { document: DocumentNode; variableValues: Record<string, unknown> | null | undefined } {
  let perSchema = cache.get(schema);
  if (!perSchema) cache.set(schema, (perSchema = new WeakMap()));
  let rewritten = perSchema.get(document);
  if (!rewritten) perSchema.set(document, (rewritten = rewrite(schema, document)));
  if (rewritten.orderVariables.size === 0 || !variableValues) return { document: rewritten.document, variableValues };
  const values = { ...variableValues };
  for (const name of rewritten.orderVariables) {
    if (values[name] != null) values[name] = splitOrderByValue(values[name]);
  }
  return { document: rewritten.document, variableValues: values };
}
