// The fast path: an operation that one subgraph can answer alone is sent to that subgraph as it is, and the
// subgraph's answer goes back as it is, without the query planner (which costs about half the throughput).
//
// The router also holds what the document limits need (limits.ts): the text's token and nesting check, read before
// anything parses the text, and each operation's cost estimate, both kept per shape with the route; and each
// operation's label in the metrics (shared/src/metrics.ts).
//
// Whether a document qualifies is decided once per document *shape* (LRU caches) and per composed schema:
//   - it parses and validates against the composed schema with the gateway's own rules (the limits included), so
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
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from "graphql";
import { LRUCache } from "lru-cache";
import { INVALID_OPERATION, operationLabel } from "../../shared/src/metrics.ts";
import { costEstimates, scanDocument, type CostEstimate, type DocumentLimits } from "./limits.ts";

export type Route =
  | { kind: "planner" }
  | { kind: "subgraph"; subgraph: string; operationName: string | undefined };

const PLANNER: Route = { kind: "planner" };

/** What the router tells about one request's document. */
export interface Verdict {
  route: Route;
  /** The operation's cost estimate (absent for a document the planner will refuse anyway). */
  cost?: CostEstimate;
  /** Why the document is refused before it is parsed (too many tokens, nested too deep). */
  refused?: GraphQLError;
  /** The operation's label in the metrics (INVALID_OPERATION when the document does not validate). */
  operation: string;
}

/** What is known of a document shape. */
interface Facts {
  route: Route;
  costs?: Map<string, CostEstimate>;
  /** Each operation's label in the metrics, by operation name ("" for an anonymous one). */
  labels?: Map<string, string>;
}

const UNPARSED: Facts = { route: PLANNER };

export interface RouterOptions {
  /** The schema clients see (the composed API schema). */
  apiSchema: GraphQLSchema;
  /** The supergraph SDL it was built from (names the subgraph of every field). */
  supergraphSdl: string;
  limits: DocumentLimits;
  /** Validation rules on top of the specified ones (the document limits…). */
  extraRules?: readonly ValidationRule[];
  /** Documents remembered (default 1000). */
  cacheSize?: number;
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
  readonly #limits: DocumentLimits;
  readonly #rules: readonly ValidationRule[];
  readonly #subgraphSchemas: Map<string, GraphQLSchema>;
  /** by document text: documents sent with variables are found without lexing them */
  readonly #byText: LRUCache<string, Facts>;
  readonly #byShape: LRUCache<string, Facts>;

  constructor(options: RouterOptions) {
    this.apiSchema = options.apiSchema;
    this.#limits = options.limits;
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
   * Where a request goes (the planner, or one subgraph), what it may cost, or why it is refused unparsed. Its
   * variables are not checked here: the subgraph checks them against the same input types and scalars, and a
   * request it refuses as a whole goes on to the planner, which reports the error (gateway.ts).
   */
  route(query: string, operationName: string | null | undefined): Verdict {
    let facts = this.#byText.get(query);
    if (!facts) {
      const { shape, refused } = scanDocument(query, this.#limits);
      if (refused) return { route: PLANNER, refused, operation: INVALID_OPERATION };
      facts = shape === undefined ? UNPARSED : this.#byShape.get(shape);
      if (!facts) {
        facts = this.#decide(query);
        this.#byShape.set(shape!, facts);
      }
      this.#byText.set(query, facts);
    }
    const { costs, labels } = facts;
    const cost = costs && (operationName != null ? costs.get(operationName) : costs.size === 1 ? costs.values().next().value : undefined);
    const route = facts.route.kind === "subgraph" && operationName != null && operationName !== facts.route.operationName ? PLANNER : facts.route;
    const operation = (labels && (operationName != null ? labels.get(operationName) : labels.size === 1 ? labels.values().next().value : undefined)) ?? INVALID_OPERATION;
    return cost ? { route, cost, operation } : { route, operation };
  }

  #decide(query: string): Facts {
    let document: DocumentNode;
    try {
      document = parse(query, { noLocation: true }); // nothing here reports errors (the planner does)
    } catch {
      return UNPARSED;
    }
    if (validate(this.apiSchema, document, this.#rules).length > 0) return UNPARSED;
    const labels = new Map(
      document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION).map((d) => [d.name?.value ?? "", operationLabel(d)]),
    );
    return { route: this.#subgraphRoute(document), costs: costEstimates(this.apiSchema, document, this.#limits), labels };
  }

  /** The one subgraph that can answer the document unchanged, if there is one (see the top of this file). */
  #subgraphRoute(document: DocumentNode): Route {
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
