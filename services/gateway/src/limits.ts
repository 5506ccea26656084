// The bounds a document must keep to be run (docs/security.md lists each with its setting and default). The
// defaults leave room for every document Prefect Core 1.x and the Prefect UI v1 send (tests/gateway/limits.test.ts
// checks them all) and refuse the documents they never send: a thousand aliases of one aggregate, a list of a
// million rows inside a list of a million rows, a selection nested two thousand levels deep.
//
//   read before parsing (the text)   tokens (max_tokens) and bracket nesting (max_nesting), so that neither the
//                                    parser nor a validation rule can be made to recurse until the stack runs out
//   validation rules                 depth (depth_limit, v1's 7), aliases (max_aliases), root fields
//                                    (max_root_fields); refused like any invalid document: HTTP 400
//   with the variables               the cost estimate (max_cost): the rows a document can return, counting each
//                                    list as its `limit` (or the row cap) and a list without one as
//                                    UNLIMITED_LIST_ROWS, multiplied through the nesting
// The body's own JSON nesting (variables) is bounded by max_nesting too, in server.ts.
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  isInterfaceType,
  type ASTVisitor,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from "graphql";
import type { Config } from "../../shared/src/config.ts";

export interface DocumentLimits {
  depth: number;
  aliases: number;
  rootFields: number;
  tokens: number;
  nesting: number;
  cost: number;
  /** Most operations in one batch. */
  batch: number;
  /** The data graph's row cap (0: none): no list returns more, so the estimate counts no more. */
  maxRows: number;
}

export const documentLimits = (config: Config): DocumentLimits => {
  const settings = config.services.gateway;
  return {
    depth: settings.depth_limit,
    aliases: settings.max_aliases,
    rootFields: settings.max_root_fields,
    tokens: settings.max_tokens,
    nesting: settings.max_nesting,
    cost: settings.max_cost,
    batch: settings.max_batch_size,
    maxRows: config.services.postgraphile.max_rows,
  };
};

/** The rows the cost estimate assumes for a list field without a `limit` (a run's task runs, a flow's runs …). */
export const UNLIMITED_LIST_ROWS = 100;

const refusal = (message: string, code = "GRAPHQL_VALIDATION_FAILED") => new GraphQLError(message, { extensions: { code } });

// ---- the text ---------------------------------------------------------------------------------------------------------

const OPENING = new Set<string>([TokenKind.BRACE_L, TokenKind.PAREN_L, TokenKind.BRACKET_L]);
const CLOSING = new Set<string>([TokenKind.BRACE_R, TokenKind.PAREN_R, TokenKind.BRACKET_R]);

/**
 * The document's shape (its tokens with the contents of string literals left out: see fastpath.ts) while checking
 * the token and nesting limits. `undefined` shape: not a sequence of GraphQL tokens (the parser reports it).
 */
export function scanDocument(query: string, limits: Pick<DocumentLimits, "tokens" | "nesting">): { shape?: string; refused?: GraphQLError } {
  const lexer = new Lexer(new Source(query));
  const tokens: string[] = [];
  let nesting = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (tokens.length === limits.tokens) {
        return { refused: refusal(`The document has more than ${limits.tokens} tokens (services.gateway.max_tokens).`) };
      }
      if (OPENING.has(token.kind) && ++nesting > limits.nesting) {
        return { refused: refusal(`The document nests brackets deeper than ${limits.nesting} levels (services.gateway.max_nesting).`) };
      }
      if (CLOSING.has(token.kind)) nesting--;
      // (a name or a number never starts with a quote; punctuators have no value)
      tokens.push(token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING ? '"' : (token.value ?? token.kind));
    }
  } catch {
    return {};
  }
  return { shape: tokens.join(" ") };
}

/** How deep `value` (a parsed JSON body) nests objects and arrays, counting no further than `limit + 1`. */
export function jsonNesting(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 1]];
  for (let item = pending.pop(); item; item = pending.pop()) {
    const [current, depth] = item;
    if (current === null || typeof current !== "object") continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (child !== null && typeof child === "object") pending.push([child, depth + 1]);
    }
  }
  return deepest;
}

// ---- validation rules -------------------------------------------------------------------------------------------------

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

const fragmentsOf = (document: DocumentNode): Map<string, FragmentDefinitionNode> =>
  new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );

/**
 * The fields a selection set selects, through fragments, each with the depth it sits at (the set's own fields at
 * `depth`). As in execution, a fragment spread twice among the fields of one selection counts once (`visited`);
 * fragment cycles and unknown fragments are other rules' errors and are skipped.
 */
function* fieldsUnder(
  selectionSet: SelectionSetNode,
  fragments: Fragments,
  depth: number,
  ancestors: ReadonlySet<string> = new Set(),
  visited: Set<string> = new Set(),
): Generator<{ field: FieldNode; depth: number }> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      yield { field: selection, depth };
      if (selection.selectionSet) yield* fieldsUnder(selection.selectionSet, fragments, depth + 1, ancestors);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      yield* fieldsUnder(selection.selectionSet, fragments, depth, ancestors, visited);
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || ancestors.has(name) || visited.has(name)) continue;
      visited.add(name);
      yield* fieldsUnder(fragment.selectionSet, fragments, depth, new Set([...ancestors, name]), visited);
    }
  }
}

const operationLabel = (operation: OperationDefinitionNode) => (operation.name ? `'${operation.name.value}'` : "The operation");

/**
 * One rule for the limits of an operation's selection: depth (v1's graphql-depth-limit: root fields at depth 0;
 * introspection fields not counted, so an IDE's introspection query passes), aliases and root fields. Each
 * operation is walked once, stopping at the first limit it breaks.
 */
export function selectionLimitsRule(limits: Pick<DocumentLimits, "depth" | "aliases" | "rootFields">): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = fragmentsOf(context.getDocument());
    return {
      OperationDefinition(operation) {
        let aliases = 0;
        let rootFields = 0;
        const report = (message: string) => context.reportError(new GraphQLError(message, { nodes: [operation] }));
        for (const { field, depth } of fieldsUnder(operation.selectionSet, fragments, 0)) {
          if (field.name.value.startsWith("__")) continue;
          if (depth > limits.depth) {
            return report(`${operationLabel(operation)} is nested deeper than the limit of ${limits.depth} levels (services.gateway.depth_limit).`);
          }
          if (field.alias && ++aliases > limits.aliases) {
            return report(`${operationLabel(operation)} has more than ${limits.aliases} aliases (services.gateway.max_aliases).`);
          }
          if (depth === 0 && ++rootFields > limits.rootFields) {
            return report(`${operationLabel(operation)} selects more than ${limits.rootFields} root fields (services.gateway.max_root_fields).`);
          }
        }
      },
    };
  };
}

// ---- the cost estimate ------------------------------------------------------------------------------------------------

/** A field's rows per parent row: a number, or the name of the variable holding its `limit`. */
type Rows = number | { variable: string };

interface CostNode {
  rows: Rows;
  children: CostNode[];
}

/** The rows an operation can return, given its variables. */
export type CostEstimate = (variables: Readonly<Record<string, unknown>> | null | undefined) => number;

/** The cost formula of every operation of a valid document, by operation name ("" for an anonymous one). */
export function costEstimates(schema: GraphQLSchema, document: DocumentNode, limits: Pick<DocumentLimits, "maxRows">): Map<string, CostEstimate> {
  const fragments = fragmentsOf(document);
  const cap = (rows: number) => (limits.maxRows > 0 ? Math.min(rows, limits.maxRows) : rows);

  const rowsOf = (field: FieldNode, definition: GraphQLField<unknown, unknown>): Rows => {
    if (!isListType(getNullableType(definition.type))) return 1;
    const limit = field.arguments?.find((argument) => argument.name.value === "limit")?.value;
    if (limit?.kind === Kind.INT) return cap(Number(limit.value));
    if (limit?.kind === Kind.VARIABLE) return { variable: limit.name.value };
    return cap(UNLIMITED_LIST_ROWS);
  };

  const nodesOf = (selectionSet: SelectionSetNode, parentType: unknown, visited: Set<string> = new Set()): CostNode[] => {
    if (!isObjectType(parentType) && !isInterfaceType(parentType)) return [];
    const nodes: CostNode[] = [];
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const definition = parentType.getFields()[selection.name.value];
        if (!definition || !selection.selectionSet) continue; // leaves and introspection cost nothing
        nodes.push({ rows: rowsOf(selection, definition), children: nodesOf(selection.selectionSet, getNamedType(definition.type)) });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType;
        nodes.push(...nodesOf(selection.selectionSet, type, visited));
      } else {
        // (a valid document has no fragment cycles; a fragment spread twice in one selection counts once)
        const fragment = fragments.get(selection.name.value);
        if (!fragment || visited.has(fragment.name.value)) continue;
        visited.add(fragment.name.value);
        nodes.push(...nodesOf(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), visited));
      }
    }
    return nodes;
  };

  const estimates = new Map<string, CostEstimate>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const root = schema.getRootType(definition.operation);
    const nodes = nodesOf(definition.selectionSet, root);
    const defaults = new Map(
      (definition.variableDefinitions ?? []).flatMap((v) => (v.defaultValue?.kind === Kind.INT ? [[v.variable.name.value, Number(v.defaultValue.value)] as const] : [])),
    );
    const resolve = (rows: Rows, variables: Readonly<Record<string, unknown>>): number => {
      if (typeof rows === "number") return rows;
      const value = variables[rows.variable] ?? defaults.get(rows.variable);
      return cap(typeof value === "number" && value >= 0 ? value : UNLIMITED_LIST_ROWS);
    };
    const total = (list: CostNode[], variables: Readonly<Record<string, unknown>>): number =>
      list.reduce((sum, node) => sum + resolve(node.rows, variables) * (1 + total(node.children, variables)), 0);
    estimates.set(definition.name?.value ?? "", (variables) => total(nodes, variables ?? {}));
  }
  return estimates;
}

/** The refusal of an operation whose estimate is above the limit, or undefined. */
export function costRefusal(estimate: number, limits: Pick<DocumentLimits, "cost">): GraphQLError | undefined {
  if (estimate <= limits.cost) return undefined;
  return refusal(
    `The operation could return about ${Math.round(estimate).toLocaleString("en")} rows, more than the limit of ${limits.cost.toLocaleString("en")} (services.gateway.max_cost). Ask for fewer rows per list with \`limit\`, or nest fewer lists.`,
    "QUERY_TOO_COSTLY",
  );
}
