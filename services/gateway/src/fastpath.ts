// The fast path: an operation that one subgraph can answer alone is sent to that subgraph as it is, and the
// subgraph's answer goes back as it is, without the query planner (which costs about half the throughput).
//
// Whether a document qualifies is decided once per document *shape* (LRU caches) and per composed schema:
//   - it parses and validates against the composed schema with the gateway's own rules (depth limit included), so
//     the fast path accepts exactly what the planner path accepts;
//   - it holds exactly one operation, a query or a mutation, with no introspection at its root;
//   - one subgraph has every root field it selects, and the whole document also validates against that
//     subgraph's own schema (extracted from the supergraph), so the subgraph will accept it unchanged.
// Anything else (and every error case) takes the planner path, which reports errors in Apollo's shape.
//
// A document's shape is its token sequence with the contents of its string literals left out: Prefect Core writes
// ids into its documents (`flow_run_by_pk(id: "<id>")`), so nearly each of those is a text never seen before, and
// parsing and validating it twice would be most of the gateway's work for it. Documents of one shape get the same
// decision: the composed schema's scalars accept any string literal (the subgraph checks it, and a subgraph that
// rejects the document as a whole sends the request on to the planner, see gateway.ts), and where a string is not
// allowed at all that depends on the token's kind, which the shape keeps. Numbers stay in the shape (Int's range
// is checked here), so do names, punctuation, and therefore variable definitions and operation names.
import { Supergraph } from "@apollo/federation-internals";
import {
  Kind,
  Lexer,
  parse,
  Source,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  TokenKind,
  type ValidationRule,
} from "graphql";
import { LRUCache } from "lru-cache";

export type Route =
  | { kind: "planner" }
  | { kind: "subgraph"; subgraph: string; operationName: string | undefined };

const PLANNER: Route = { kind: "planner" };

export interface RouterOptions {
  /** The schema clients see (the composed API schema). */
  apiSchema: GraphQLSchema;
  /** The supergraph SDL it was built from (names the subgraph of every field). */
  supergraphSdl: string;
  /** Validation rules on top of the specified ones (the depth limit…). */
  extraRules?: readonly ValidationRule[];
  /** Documents remembered (default 1000). */
  cacheSize?: number;
}

/** The document's shape (see above), or undefined when it is not even a sequence of GraphQL tokens. */
function documentShape(query: string): string | undefined {
  const lexer = new Lexer(new Source(query));
  const tokens: string[] = [];
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      // (a name or a number never starts with a quote; punctuators have no value)
      tokens.push(token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING ? '"' : (token.value ?? token.kind));
    }
  } catch {
    return undefined;
  }
  return tokens.join(" ");
}

/** The root field names a selection set selects, through fragments. */
function rootFields(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): string[] {
  return selectionSet.selections.flatMap((selection) => {
    if (selection.kind === Kind.FIELD) return [selection.name.value];
    if (selection.kind === Kind.INLINE_FRAGMENT) return rootFields(selection.selectionSet, fragments, seen);
    const name = selection.name.value;
    const fragment = fragments.get(name);
    if (!fragment || seen.has(name)) return [];
    seen.add(name);
    return rootFields(fragment.selectionSet, fragments, seen);
  });
}

export class Router {
  readonly apiSchema: GraphQLSchema;
  readonly #rules: readonly ValidationRule[];
  readonly #subgraphSchemas: Map<string, GraphQLSchema>;
  /** by document text: documents sent with variables are found without lexing them */
  readonly #byText: LRUCache<string, Route>;
  readonly #byShape: LRUCache<string, Route>;

  constructor(options: RouterOptions) {
    this.apiSchema = options.apiSchema;
    this.#rules = [...specifiedRules, ...(options.extraRules ?? [])];
    this.#byText = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.#byShape = new LRUCache({ max: options.cacheSize ?? 1000 });
    this.#subgraphSchemas = new Map();
    for (const subgraph of Supergraph.build(options.supergraphSdl).subgraphs()) {
      this.#subgraphSchemas.set(subgraph.name, subgraph.schema.toGraphQLJSSchema());
    }
  }

  /** Subgraph names, as composed. */
  get subgraphs(): string[] {
    return [...this.#subgraphSchemas.keys()];
  }

  /**
   * Where a request goes: the planner, or one subgraph. Its variables are not checked here: the subgraph checks
   * them against the same input types (and stricter scalars), and a request it refuses as a whole goes on to the
   * planner, which reports the error (gateway.ts).
   */
  route(query: string, operationName: string | null | undefined): Route {
    let route = this.#byText.get(query);
    if (!route) {
      const shape = documentShape(query);
      route = shape === undefined ? PLANNER : this.#byShape.get(shape);
      if (!route) {
        route = this.#decide(query);
        this.#byShape.set(shape!, route);
        this.#byText.set(query, route);
      }
    }
    if (route.kind === "planner") return route;
    return operationName != null && operationName !== route.operationName ? PLANNER : route;
  }

  #decide(query: string): Route {
    let document: DocumentNode;
    try {
      document = parse(query, { noLocation: true }); // nothing here reports errors (the planner does)
    } catch {
      return PLANNER;
    }
    if (validate(this.apiSchema, document, this.#rules).length > 0) return PLANNER;
    const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    if (operations.length !== 1) return PLANNER;
    const operation = operations[0]!;
    if (operation.operation === "subscription") return PLANNER;
    const fragments = new Map(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    const fields = rootFields(operation.selectionSet, fragments);
    const own = fields.filter((name) => name !== "__typename");
    if (own.length === 0 || own.some((name) => name.startsWith("__"))) return PLANNER;
    for (const [name, schema] of this.#subgraphSchemas) {
      const root = operation.operation === "query" ? schema.getQueryType() : schema.getMutationType();
      const available = root?.getFields();
      if (!available || !own.every((field) => field in available)) continue;
      if (validate(schema, document, specifiedRules).length > 0) continue;
      return { kind: "subgraph", subgraph: name, operationName: operation.name?.value };
    }
    return PLANNER;
  }
}
