// Composition and execution: an Apollo gateway over the two subgraphs, composed by IntrospectAndCompose (each
// subgraph's `_service { sdl }`, whether it is reached over HTTP or runs in this process, so both modes compose the
// same supergraph), served by Apollo Server 5, with the fast path in front of the planner.
//
// Start-up never fails because a subgraph is not up yet: composition is retried every `retryMs` until every
// subgraph answers (v1 did the same every 3 s), and meanwhile GraphQL requests get 503 "not ready". Once composed,
// IntrospectAndCompose re-reads the SDLs every `poll_interval_seconds` and recomposes when one changed (a subgraph
// restarted with a new schema); a subgraph that is down meanwhile keeps the last good supergraph.
import "./telemetry.ts"; // before @apollo/gateway
import { ApolloGateway, IntrospectAndCompose, type SupergraphManager, type SupergraphSdlHook } from "@apollo/gateway";
import { ApolloServer, HeaderMap, type GraphQLRequest } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { isScalarType, type GraphQLError, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import { prefectHeaders } from "../../shared/src/http.ts";
import { internalSecret } from "../../shared/src/internal_auth.ts";
import { apolloLogger, type Logger } from "../../shared/src/logger.ts";
import { INVALID_OPERATION, metricsEnabled, OperationMetrics, type AnsweredError } from "../../shared/src/metrics.ts";
import { OutageLog } from "../../shared/src/outages.ts";
import { SCALAR_INPUTS } from "../../domain/src/scalars.ts";
import { Router, type Verdict } from "./fastpath.ts";
import { costRefusal, documentLimits, selectionLimitsRule, type DocumentLimits } from "./limits.ts";
import { measuredSubgraph } from "./metrics.ts";
import {
  DATA_GRAPH,
  inProcessDataGraph,
  inProcessMutations,
  MUTATIONS,
  remoteSubgraph,
  SubgraphDataSource,
  type GatewayContext,
  type IncomingHeaders,
  type Subgraph,
} from "./subgraphs.ts";

/** One GraphQL operation as a client sent it, `variables` already decoded. */
export interface OperationRequest {
  query?: unknown;
  variables?: Record<string, unknown> | null;
  operationName?: unknown;
  extensions?: unknown;
}

/** What goes back for one operation: an HTTP status (for a single request) and the JSON body. */
export interface OperationResult {
  status: number;
  body: Record<string, unknown>;
  /** The body as JSON text, when it is a subgraph's answer passed on as received (not enumerable). */
  readonly json?: string;
}

/** A subgraph's answer passed on as received: parsed only if something reads `body` (the tests do). */
function passedOn(json: string): OperationResult {
  let body: Record<string, unknown> | undefined;
  const result = {
    status: 200,
    get body() {
      return (body ??= JSON.parse(json) as Record<string, unknown>);
    },
  };
  return Object.defineProperty(result, "json", { value: json, enumerable: false });
}

export interface GatewayOptions {
  config: Config;
  log: Logger;
  /** Delay between composition attempts while a subgraph does not answer (default 3000 ms). */
  retryMs?: number;
  /** Replace the subgraphs (tests); default: from `services.gateway.mode`. */
  subgraphs?: Subgraph[];
  /** In in-process mode, the pool of the mutations subgraph when the process shares one (not closed by the gateway). */
  db?: Pool;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, "ok" | string>;
}

/** A SupergraphManager that retries IntrospectAndCompose's first composition until it succeeds. */
class RetryingIntrospectAndCompose implements SupergraphManager {
  readonly #options: ConstructorParameters<typeof IntrospectAndCompose>[0];
  readonly #retryMs: number;
  readonly #log: Logger;
  readonly #signal: AbortSignal;

  constructor(options: ConstructorParameters<typeof IntrospectAndCompose>[0], retryMs: number, log: Logger, signal: AbortSignal) {
    this.#options = options;
    this.#retryMs = retryMs;
    this.#log = log;
    this.#signal = signal;
  }

  async initialize(hooks: Parameters<SupergraphSdlHook>[0]): ReturnType<SupergraphSdlHook> {
    for (let attempt = 1; ; attempt++) {
      this.#signal.throwIfAborted();
      // Failures of the first composition are reported below (not every 3 s); later polling failures as warnings.
      let composed = false;
      const logger = { ...apolloLogger(this.#log), error: (message: string) => this.#log[composed ? "warn" : "debug"](message) };
      try {
        const result = await new IntrospectAndCompose({ ...this.#options, logger }).initialize(hooks);
        composed = true;
        return result;
      } catch (error) {
        if (this.#signal.aborted) throw error;
        const message = (error as Error).message;
        if (attempt === 1 || attempt % 20 === 0) {
          this.#log.warn({ attempt, error: message }, `cannot compose the subgraphs yet; trying again every ${this.#retryMs / 1000} s`);
        } else {
          this.#log.debug({ attempt, error: message }, "cannot compose the subgraphs yet");
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.#retryMs);
          this.#signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
      }
    }
  }
}

/**
 * Undoes what the gateway adds to a subgraph's errors, so that a client sees the subgraph's error as the subgraph
 * wrote it (as on the fast path): no `serviceName`, and no `DOWNSTREAM_SERVICE_ERROR` code that the subgraph did
 * not send.
 */
export function formatGatewayError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const extensions = formatted.extensions;
  if (!extensions || !("serviceName" in extensions)) return formatted;
  const { serviceName: _serviceName, ...rest } = extensions;
  const original = (error as { originalError?: { extensions?: Record<string, unknown> } } | null)?.originalError;
  if (rest.code === "DOWNSTREAM_SERVICE_ERROR" && original && !original.extensions?.code) delete rest.code;
  const { extensions: _extensions, ...withoutExtensions } = formatted;
  return Object.keys(rest).length > 0 ? { ...withoutExtensions, extensions: rest } : withoutExtensions;
}

/**
 * A subgraph's execution error as the planner path reports it: the gateway does not map subgraph error locations
 * back onto the client's document, so neither does the fast path; an empty `extensions` is left out.
 */
function asPlannerError(error: GraphQLFormattedError): GraphQLFormattedError {
  const { locations: _locations, extensions, ...rest } = error;
  return extensions && Object.keys(extensions).length > 0 ? { ...rest, extensions } : rest;
}

/**
 * Gives the composed schema's custom scalars (opaque to composition) the input rules of the subgraphs that define
 * them, so that Apollo refuses a malformed uuid or timestamp in a variable or a literal (HTTP 400) before any
 * subgraph is asked, on the planner path as on the fast path (which sends a refused request on to the planner).
 */
function checkScalarInputs(schema: GraphQLSchema): void {
  for (const [name, input] of Object.entries(SCALAR_INPUTS)) {
    const type = schema.getType(name);
    if (!isScalarType(type)) continue;
    type.parseValue = input.parseValue;
    type.parseLiteral = input.parseLiteral as typeof type.parseLiteral;
  }
}

/** A request refused before it is run (HTTP 400, as for any invalid document). */
const refused = (error: GraphQLError): OperationResult => ({ status: 400, body: { errors: [error.toJSON()] } });

export class Gateway {
  readonly subgraphs: Map<string, Subgraph>;
  readonly apollo: ApolloServer<GatewayContext>;
  readonly #log: Logger;
  readonly #fastPath: boolean;
  readonly #limits: DocumentLimits;
  readonly #outages: OutageLog;
  /** The operations' metrics (undefined: metrics off). */
  readonly #operations: OperationMetrics | undefined;
  readonly #abort = new AbortController();
  #router: Router | undefined;
  #started: Promise<void> | undefined;
  #ready = false;
  #supergraphSdl: string | undefined;

  private constructor(subgraphs: Subgraph[], options: GatewayOptions) {
    const { config, log } = options;
    const settings = config.services.gateway;
    this.#log = log;
    this.#fastPath = settings.fast_path;
    this.#limits = documentLimits(config);
    this.#outages = new OutageLog(log, { field: "subgraph", failed: "subgraph request failed", recovered: "subgraph answers again" });
    this.#operations = metricsEnabled(config) ? new OperationMetrics("gateway") : undefined;
    this.subgraphs = new Map(subgraphs.map((s) => [s.name, this.#operations ? measuredSubgraph(s) : s]));
    const inProcess = subgraphs.every((s) => s.url.startsWith("inproc://"));
    const pollIntervalInMs = inProcess ? 0 : settings.poll_interval_seconds * 1000;
    // @apollo/gateway otherwise starts an OpenTelemetry exporter that sends usage metrics to Apollo and probes the
    // cloud metadata addresses (169.254.169.254…) to describe the host: a self-hosted server must never phone home.
    process.env.APOLLO_TELEMETRY_DISABLED = "true";
    const gateway = new ApolloGateway({
      supergraphSdl: new RetryingIntrospectAndCompose(
        {
          subgraphs: subgraphs.map(({ name, url }) => ({ name, url })),
          ...(pollIntervalInMs > 0 ? { pollIntervalInMs } : {}),
        },
        options.retryMs ?? 3000,
        log,
        this.#abort.signal,
      ),
      buildService: ({ name }) => {
        const subgraph = this.subgraphs.get(name);
        if (!subgraph) throw new Error(`unknown subgraph ${name}`);
        return new SubgraphDataSource(subgraph, this.#outages);
      },
      logger: apolloLogger(log),
    });
    gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
      const first = this.#supergraphSdl === undefined;
      this.#supergraphSdl = coreSupergraphSdl;
      checkScalarInputs(apiSchema);
      this.#router = new Router({ apiSchema, supergraphSdl: coreSupergraphSdl, limits: this.#limits, extraRules: [selectionLimitsRule(this.#limits)] });
      log.info({ subgraphs: this.#router.subgraphs }, first ? "composed the subgraphs" : "recomposed the subgraphs (a subgraph schema changed)");
    });
    this.apollo = new ApolloServer<GatewayContext>({
      gateway,
      introspection: settings.enable_introspection,
      validationRules: [selectionLimitsRule(this.#limits)],
      allowBatchedHttpRequests: false, // batches are split by the HTTP layer, each element takes its own path
      csrfPrevention: false, // the HTTP layer only accepts JSON bodies on POST, which a cross-site form cannot send
      includeStacktraceInErrorResponses: false,
      formatError: formatGatewayError,
      plugins: [ApolloServerPluginLandingPageDisabled()],
      logger: apolloLogger(log),
      // The CLI stops the service on SIGINT/SIGTERM; Apollo's own handlers would stop the server a second time
      // underneath it and re-send the signal, and the gateway then never finished stopping.
      stopOnTerminationSignals: false,
    });
  }

  /** Builds the subgraphs of the configured mode (in-process ones are created here) and the gateway. */
  static async create(options: GatewayOptions): Promise<Gateway> {
    const { config, log } = options;
    const settings = config.services.gateway;
    let subgraphs = options.subgraphs;
    if (!subgraphs && settings.mode === "in_process") {
      const dataGraph = await inProcessDataGraph(config, log.child({ subgraph: DATA_GRAPH }));
      try {
        subgraphs = [dataGraph, await inProcessMutations(config, log.child({ subgraph: MUTATIONS }), options.db)];
      } catch (error) {
        await dataGraph.close();
        throw error;
      }
    }
    const remote = { timeoutMs: settings.request_timeout_seconds * 1000, internalSecret: internalSecret(settings.auth_string) };
    subgraphs ??= [
      remoteSubgraph({ ...remote, name: DATA_GRAPH, url: config.services.postgraphile.url }),
      remoteSubgraph({ ...remote, name: MUTATIONS, url: config.services.mutations.url, forwardHeaders: prefectHeaders }),
    ];
    return new Gateway(subgraphs, options);
  }

  /** Starts composing in the background; resolves once the first composition succeeded. */
  start(): Promise<void> {
    this.#started ??= this.apollo.start().then(() => {
      this.#ready = true;
    });
    return this.#started;
  }

  /** Whether the schema is composed (GraphQL requests can be served). */
  get composed(): boolean {
    return this.#ready;
  }

  get supergraphSdl(): string | undefined {
    return this.#supergraphSdl;
  }

  /** The composed schema clients see (undefined until composed). */
  get apiSchema(): GraphQLSchema | undefined {
    return this.#router?.apiSchema;
  }

  /** The fast path's router for the current schema (undefined until composed). */
  get router(): Router | undefined {
    return this.#router;
  }

  /**
   * Runs one operation by the fast path or the planner, once it keeps the document limits. `signal`: aborted when
   * the client went away (the subgraph requests are then abandoned, and the data graph cancels their SQL).
   */
  async execute(request: OperationRequest, headers: IncomingHeaders, signal?: AbortSignal): Promise<OperationResult> {
    if (!this.#ready) {
      return {
        status: 503,
        body: { errors: [{ message: "The gateway is starting: the subgraphs are not composed yet. Try again shortly.", extensions: { code: "NOT_READY" } }] },
      };
    }
    const started = this.#operations && performance.now();
    const verdict = this.#verdict(request);
    const result =
      verdict?.refusal ??
      (this.#fastPath && verdict?.route.kind === "subgraph"
        ? await this.#forward(verdict.route.subgraph, request, headers, signal)
        : await this.executePlanned(request, headers, "POST", "", undefined, signal));
    if (started !== undefined) this.#observe(verdict, started, result);
    return result;
  }

  /** The document limits requests are held to. */
  get limits(): DocumentLimits {
    return this.#limits;
  }

  /** A GET request's operation: refused by the document limits (its answer), or run by the planner. */
  async executeGet(request: OperationRequest, headers: IncomingHeaders, search: string, signal?: AbortSignal): Promise<OperationResult> {
    const started = this.#ready && this.#operations ? performance.now() : undefined;
    const verdict = this.#ready ? this.#verdict(request) : undefined;
    const result = verdict?.refusal ?? (await this.executePlanned({}, headers, "GET", search, undefined, signal));
    if (started !== undefined) this.#observe(verdict, started, result);
    return result;
  }

  /** The router's verdict on the request's document, with the answer refusing it when it breaks a document limit. */
  #verdict(request: OperationRequest): (Verdict & { refusal?: OperationResult }) | undefined {
    if (!this.#router || typeof request.query !== "string") return undefined;
    const verdict = this.#router.route(request.query, request.operationName as string | null | undefined);
    if (verdict.refused) return { ...verdict, refusal: refused(verdict.refused) };
    const tooCostly = verdict.cost && costRefusal(verdict.cost(request.variables), this.#limits);
    return tooCostly ? { ...verdict, refusal: refused(tooCostly) } : verdict;
  }

  /** Counts an answered operation in the metrics; an answer passed on as received has no errors (subgraphs.ts). */
  #observe(verdict: Verdict | undefined, started: number, result: OperationResult): void {
    const errors = result.json === undefined ? (result.body.errors as AnsweredError[] | undefined) : undefined;
    this.#operations!.observe(verdict?.operation ?? INVALID_OPERATION, (performance.now() - started) / 1000, errors);
  }

  /**
   * The planner path alone (the fast-path tests compare both). `failed`: a subgraph whose request already failed,
   * whose error the planner reports without sending to it again.
   */
  async executePlanned(
    request: OperationRequest,
    headers: IncomingHeaders,
    method = "POST",
    search = "",
    failed?: GatewayContext["failed"],
    signal?: AbortSignal,
  ): Promise<OperationResult> {
    const headerMap = new HeaderMap();
    for (const [name, value] of Object.entries(headers)) headerMap.set(name, value);
    headerMap.set("content-type", "application/json");
    const response = await this.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers: headerMap, search, body: method === "POST" ? (request as GraphQLRequest) : undefined },
      context: async () => ({ headers, ...(failed ? { failed } : {}), ...(signal ? { signal } : {}) }),
    });
    let text = "";
    if (response.body.kind === "complete") text = response.body.string;
    else for await (const chunk of response.body.asyncIterator) text += chunk;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { errors: [{ message: text.trim() || "The request could not be handled." }] };
    }
    // GraphQL-level failures never become 5xx (Core retries those with back-off).
    const status = response.status ?? 200;
    return { status: status >= 500 ? 200 : status, body };
  }

  async #forward(name: string, request: OperationRequest, headers: IncomingHeaders, signal?: AbortSignal): Promise<OperationResult> {
    const subgraph = this.subgraphs.get(name)!;
    try {
      const answer = await (subgraph.forward ?? subgraph.send)(
        { query: request.query as string, variables: request.variables ?? null, operationName: (request.operationName as string | null | undefined) ?? null },
        headers,
        signal,
      );
      this.#outages.recovered(name);
      if (typeof answer === "string") return passedOn(answer);
      const response = answer;
      // A subgraph refusing the request as a whole (e.g. a variable its scalar rejects) answers without `data`:
      // nothing was executed, so the planner path answers it instead, in its own shape (null root fields).
      if (!("data" in response)) return this.executePlanned(request, headers, "POST", "", undefined, signal);
      if (response.errors?.length) response.errors = response.errors.map(asPlannerError);
      return { status: 200, body: response as Record<string, unknown> };
    } catch (error) {
      if (signal?.aborted) return { status: 200, body: {} }; // the client went away: nobody reads the answer
      this.#outages.failed(name, error as Error);
      // Answered as the planner answers a failed fetch (its error shape, root fields nulled as the schema says),
      // from the error we got: the operation is not sent again.
      return this.executePlanned(request, headers, "POST", "", { subgraph: name, error: error as Error }, signal);
    }
  }

  /** Readiness: composed, every subgraph answers, and so does the database. */
  async readiness(databaseCheck?: () => Promise<void>): Promise<ReadinessReport> {
    const checks: Record<string, string> = { composition: this.#ready ? "ok" : "not composed yet" };
    const probes: [string, () => Promise<void>][] = [...this.subgraphs.values()].map((s) => [s.name, () => s.ping()]);
    if (databaseCheck) probes.push(["database", databaseCheck]);
    await Promise.all(
      probes.map(async ([name, probe]) => {
        try {
          await probe();
          checks[name] = "ok";
        } catch (error) {
          checks[name] = (error as Error).message || String(error);
        }
      }),
    );
    return { ready: Object.values(checks).every((value) => value === "ok"), checks };
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    try {
      // (a start still retrying gives up on the abort; Apollo can only be stopped after it started)
      if (this.#started && (await this.#started.then(() => true, () => false))) await this.apollo.stop();
    } finally {
      await Promise.all([...this.subgraphs.values()].map((s) => s.close().catch((error: unknown) => this.#log.warn({ err: error }, "closing a subgraph failed"))));
    }
  }
}
