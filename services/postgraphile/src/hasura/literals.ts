// One plan per document *shape*. Prefect Core writes ids into its documents (`flow_run_by_pk(id: "<id>")`,
// clients.md §1.3), so each of those requests is a document grafast has never seen, and grafast plans every new
// document from scratch (about ten times the cost of running a planned one). Before execution, the scalar literals
// of a query (strings, ints and floats in field arguments) are turned into variables of the exact type of their
// position: documents that differ only in those literals then become the same document with other variable values,
// and share one plan.
//
// Answers and errors stay those of the document as written:
//   - it runs after validation, so every literal has already been checked against its type (by the scalar's
//     parseLiteral); for the scalars lifted here, parseValue of the literal's value gives the same result;
//   - the data graph's plans never depend on argument values (every argument is read at execution time), so the
//     shared plan is the plan the document would have had;
//   - documents share a shape only when everything but the literals' contents is identical, spacing and the
//     literals' lengths included, so the shared document's nodes sit at the positions of this one's, and error
//     locations are this document's own;
//   - literals that stay literals (inside a jsonb value, in variable defaults, booleans, enums, nulls) are part of
//     the shape: they must be equal.
// Anything else (several operations, a mutation, a shape whose lifted form does not validate) runs as written.
import {
  getNamedType,
  isInputObjectType,
  isListType,
  getNullableType,
  Kind,
  Lexer,
  parseType,
  Source,
  TokenKind,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLScalarType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
  type VariableDefinitionNode,
} from "graphql";
import { LRUCache } from "lru-cache";

/** Scalars whose parseLiteral(literal) equals parseValue(the literal's value). */
const LIFTED_SCALARS = new Set(["String", "Int", "Float", "uuid", "timestamptz", "interval", "jsonb", "_uuid"]);

const PREFIX = "_hasura_literal_";

interface LiteralToken {
  start: number;
  end: number;
  kind: TokenKind;
  /** The string's value (escapes resolved) or the number's text. */
  value: string;
}

interface Shape {
  document: DocumentNode;
  /** The text of the document this shape was learnt from (grafserv keeps it parsed and validated). */
  text: string;
  /** Per literal token, in document order: the variable it becomes (of the literal's input type), or the raw text it must have. */
  literals: Array<{ variable: string; type: GraphQLInputType } | { raw: string }>;
}

/** The string, int and float tokens of a document, and its shape key (the text with their contents blanked). */
function scan(text: string): { tokens: LiteralToken[]; key: string } | undefined {
  const lexer = new Lexer(new Source(text));
  const tokens: LiteralToken[] = [];
  let key = "";
  let last = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (token.kind !== TokenKind.STRING && token.kind !== TokenKind.INT && token.kind !== TokenKind.FLOAT) continue;
      tokens.push({ start: token.start, end: token.end, kind: token.kind, value: token.value });
      key += `${text.slice(last, token.start)}\u0000${token.kind}${token.end - token.start}\u0000`;
      last = token.end;
    }
  } catch {
    return undefined;
  }
  return { tokens, key: key + text.slice(last) };
}

/** The lifted form of a validated document (undefined: it runs as written). */
function liftShape(schema: GraphQLSchema, document: DocumentNode, tokens: LiteralToken[], text: string): Shape | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0]!.operation !== "query") return undefined;
  const operation = operations[0]!;
  const taken = new Set((operation.variableDefinitions ?? []).map((v) => v.variable.name.value));
  if ([...taken].some((name) => name.startsWith(PREFIX))) return undefined;

  const byStart = new Map(tokens.map((token, index) => [token.start, index]));
  const literals: Shape["literals"] = tokens.map((token) => ({ raw: text.slice(token.start, token.end) }));
  const definitions: VariableDefinitionNode[] = [];
  const typeInfo = new TypeInfo(schema);
  // Composite values (lists, input objects) being visited: true when one of them is a scalar (a jsonb literal),
  // whose parts are not values of their own.
  const insideScalar: boolean[] = [];
  const liftable = (node: ValueNode, type: GraphQLInputType | null | undefined) =>
    !insideScalar.includes(true) &&
    type != null &&
    (node.kind === Kind.INT || node.kind === Kind.FLOAT || (node.kind === Kind.STRING && !node.block)) &&
    LIFTED_SCALARS.has(getNamedType(type).name);
  const lift = (node: ValueNode) => {
    const type = typeInfo.getInputType();
    if (!node.loc || !liftable(node, type)) return undefined;
    const index = byStart.get(node.loc.start);
    if (index === undefined) return undefined;
    const name = `${PREFIX}${definitions.length}`;
    const variable = { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: name } } as const;
    definitions.push({ kind: Kind.VARIABLE_DEFINITION, variable, type: parseType(String(type)), directives: [] });
    literals[index] = { variable: name, type: type! };
    return { ...variable, loc: node.loc };
  };
  const composite = {
    enter(node: ValueNode) {
      // (TypeInfo has already entered a list: its input type is then the list's item type)
      const type = node.kind === Kind.LIST ? typeInfo.getParentInputType() : typeInfo.getInputType();
      const nullable = type ? getNullableType(type) : undefined;
      insideScalar.push(!nullable || !(isListType(nullable) || isInputObjectType(nullable)));
    },
    leave() {
      insideScalar.pop();
    },
  };
  let lifted = visit(
    document,
    visitWithTypeInfo(typeInfo, {
      // only field arguments: variable defaults and directive arguments stay as written
      Directive: () => false,
      VariableDefinition: () => false,
      ListValue: composite,
      ObjectValue: composite,
      IntValue: lift,
      FloatValue: lift,
      StringValue: lift,
    }),
  );
  if (definitions.length === 0) return undefined;
  lifted = {
    ...lifted,
    definitions: lifted.definitions.map((definition) =>
      definition.kind === Kind.OPERATION_DEFINITION
        ? { ...definition, variableDefinitions: [...(definition.variableDefinitions ?? []), ...definitions] }
        : definition,
    ),
  };
  // (the lifted document must be valid in its own right, e.g. two fields merged under one name stay mergeable)
  if (validate(schema, lifted).length > 0) return undefined;
  return { document: lifted, text, literals };
}

interface SchemaCache {
  /** shape key → its lifted form (null: runs as written) */
  shapes: LRUCache<string, Shape | false>;
  /** per parsed document (grafserv hands out the same object for a repeated text) */
  documents: WeakMap<DocumentNode, { shape: Shape; values: Record<string, unknown> } | null>;
  /** request texts that substituteKnownShape leaves as they are (repeated texts skip its scan) */
  unchanged: LRUCache<string, true>;
}

const caches = new WeakMap<GraphQLSchema, SchemaCache>();
/** The cache of the schema each preset served last: grafserv's request-body hook knows the preset, not the schema. */
const servedBy = new WeakMap<object, SchemaCache>();
/** Variables made by substituteKnownShape, with the shape whose literal values they carry. */
const substituted = new WeakMap<object, Shape>();

/** Shapes (and unchanged texts) remembered per schema. */
export const SHAPE_CACHE_SIZE = 500;

function cacheOf(schema: GraphQLSchema): SchemaCache {
  let cache = caches.get(schema);
  if (!cache) {
    cache = { shapes: new LRUCache({ max: SHAPE_CACHE_SIZE }), documents: new WeakMap(), unchanged: new LRUCache({ max: SHAPE_CACHE_SIZE }) };
    caches.set(schema, cache);
  }
  return cache;
}

/**
 * The document to execute and its variables: the lifted form of `document`'s shape with its literals as variable
 * values, or `document` itself. `document` must have passed validation. `preset` (the resolved preset serving
 * `schema`) lets substituteKnownShape find the shapes learnt here.
 */
export function liftLiterals(
  schema: GraphQLSchema,
  document: DocumentNode,
  variableValues: Record<string, unknown> | null | undefined,
  preset?: object,
): { document: DocumentNode; variableValues: Record<string, unknown> | null | undefined } {
  const cache = cacheOf(schema);
  if (preset) servedBy.set(preset, cache);
  const substitutedShape = variableValues ? substituted.get(variableValues) : undefined;
  if (substitutedShape) return { document: substitutedShape.document, variableValues };
  let known = cache.documents.get(document);
  if (known === undefined) {
    known = null;
    const text = document.loc?.source.body;
    const scanned = text === undefined ? undefined : scan(text);
    if (scanned && scanned.tokens.length > 0) {
      let shape = cache.shapes.get(scanned.key);
      if (shape === undefined) {
        shape = liftShape(schema, document, scanned.tokens, text!) ?? false;
        cache.shapes.set(scanned.key, shape);
      }
      const values = shape ? bind(shape, scanned.tokens, text!) : null;
      if (shape && values) known = { shape, values };
    }
    cache.documents.set(document, known);
  }
  if (!known) return { document, variableValues };
  return { document: known.shape.document, variableValues: { ...variableValues, ...known.values } };
}

/**
 * Before grafserv parses and validates a request: when its text has the shape of a document lifted before, the
 * request becomes that document's text (which grafserv keeps parsed and validated) with this text's literal values
 * as the shape's variables, so a document that differs from a known one only in its literals (Core's ids) costs a
 * scan instead of a parse and a validation. The answer and its errors stay this document's own: the two texts
 * differ only in the contents of literals of equal length (positions, lines and columns are the same), every
 * literal that stays must be equal, and every lifted value must be a valid value of its type. Anything else, a
 * literal that validation would reject included, goes on unchanged and runs as written.
 */
export function substituteKnownShape(preset: object, body: { query?: unknown; variableValues?: unknown }): void {
  const cache = servedBy.get(preset);
  const { query, variableValues } = body;
  if (!cache || typeof query !== "string" || cache.unchanged.get(query)) return;
  if (variableValues != null && (typeof variableValues !== "object" || Array.isArray(variableValues))) return;
  const scanned = scan(query);
  if (!scanned || scanned.tokens.length === 0) return void cache.unchanged.set(query, true);
  const shape = cache.shapes.get(scanned.key);
  if (shape === undefined) return; // a shape not learnt yet: this text may teach it
  const values = shape && shape.text !== query ? bind(shape, scanned.tokens, query, true) : null;
  if (!shape || !values) return void cache.unchanged.set(query, true);
  const variables = { ...(variableValues as Record<string, unknown> | null | undefined), ...values };
  substituted.set(variables, shape);
  body.query = shape.text;
  body.variableValues = variables;
}

/**
 * This document's literal values for the shape's variables: null when a literal that stays does not match or, with
 * `checked`, when a value is not one of its type (the document has not been validated yet).
 */
function bind(shape: Shape, tokens: LiteralToken[], text: string, checked = false): Record<string, unknown> | null {
  const values: Record<string, unknown> = {};
  for (let i = 0; i < tokens.length; i++) {
    const literal = shape.literals[i]!;
    const token = tokens[i]!;
    if ("raw" in literal) {
      if (text.slice(token.start, token.end) !== literal.raw) return null;
      continue;
    }
    const value = token.kind === TokenKind.STRING ? token.value : Number(token.value);
    if (checked) {
      try {
        (getNamedType(literal.type) as GraphQLScalarType).parseValue(value);
      } catch {
        return null;
      }
    }
    values[literal.variable] = value;
  }
  return values;
}
