// The gateway's HTTP side (node:http, no framework), in the order a request meets it:
//   CORS            every response allows any origin; OPTIONS preflights reflect the requested headers (the UI sends
//                   X-Prefect-UI, X-Backend, …) and are answered without authentication (browsers send none)
//   GET /health     200 while the process runs (never needs credentials)
//   basic auth      when services.gateway.auth_string is set: 401 + WWW-Authenticate for anything else without it
//   GET /ready      200 when composed and every subgraph and the database answer, else 503 with the failing checks
//   GET /metrics    the Prometheus metrics of the process (services.metrics.enabled; docs/operations.md, "Metrics")
//   playground      Ruru from node_modules (shared/src/playground.ts): GET / or /graphql accepting text/html,
//                   assets under /ruru-static/
//   GraphQL         POST on any path (v1 mounted its API on every path: Core posts to /, the UI to /graphql), JSON
//                   only; a single operation or a batch (an array, answered by an array in the same order);
//                   `variables` may be an object, null, absent or a JSON-encoded string (Core sends "null");
//                   GET with a query string on / and /graphql
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  clientGone,
  createHttpServer,
  decodeVariables,
  errorBody,
  flatHeaders,
  HttpError,
  metricsHandler,
  readBody,
  refuseWithoutCredentials,
  sendJson,
  sendJsonText,
  type Handler,
  type HttpServerOptions,
} from "../../shared/src/http.ts";
import { basicAuthCheck } from "../../shared/src/basic_auth.ts";
import { METRICS_PATH } from "../../shared/src/metrics.ts";
import { sendPlayground, serveRuruAsset, wantsPage } from "../../shared/src/playground.ts";
import type { Gateway, OperationRequest, OperationResult } from "./gateway.ts";
import { jsonNesting } from "./limits.ts";

const GRAPHQL_GET_PATHS = new Set(["/", "/graphql"]);

export interface GatewayHttpOptions {
  gateway: Gateway;
  bodyLimit: number;
  authString: string;
  enablePlayground: boolean;
  /** Serve GET /metrics (services.metrics.enabled). */
  enableMetrics: boolean;
  /** Timeouts and the connection cap (serviceHttpOptions). */
  http: HttpServerOptions;
  /** Extra readiness probe (the database). */
  databaseCheck?: () => Promise<void>;
  log: { error(obj: unknown, msg?: string): void };
}

/** An operation's answer as JSON text: a passed-on answer's own text (reading its `body` would parse it). */
const resultJson = (result: OperationResult): string => result.json ?? JSON.stringify(result.body);

function setCors(request: IncomingMessage, response: ServerResponse): void {
  // `*` rather than the caller's origin: a browser then never attaches stored credentials to a cross-origin call,
  // so a page elsewhere cannot use a user's basic-auth login to this server.
  response.setHeader("access-control-allow-origin", "*");
  if (request.method === "OPTIONS") {
    response.setHeader("access-control-allow-methods", "GET,HEAD,POST,OPTIONS");
    const requested = request.headers["access-control-request-headers"];
    if (requested) response.setHeader("access-control-allow-headers", requested);
    response.setHeader("access-control-max-age", "86400");
    response.setHeader("vary", "access-control-request-headers");
  }
}

/**
 * One element of a request body as an operation, with `variables` decoded (Core sends them as a JSON string,
 * `"null"` when there are none); a body that is not an operation at all is a 400.
 */
export function normaliseOperation(element: unknown): OperationRequest {
  if (element === null || typeof element !== "object" || Array.isArray(element)) {
    throw new HttpError(400, "BAD_REQUEST", "Each GraphQL request must be a JSON object with a `query`.");
  }
  const operation = { ...(element as Record<string, unknown>) };
  const variables = decodeVariables(operation.variables);
  if (variables !== undefined && variables !== null && (typeof variables !== "object" || Array.isArray(variables))) {
    throw new HttpError(400, "BAD_REQUEST", "`variables` must be an object (or null, or a JSON string of one).");
  }
  operation.variables = (variables as Record<string, unknown> | null | undefined) ?? null;
  if (operation.operationName === undefined) operation.operationName = null;
  return operation as OperationRequest;
}

/** Runs one element of a body; errors in its shape are that element's answer. */
async function runOne(gateway: Gateway, element: unknown, headers: Record<string, string>, signal: AbortSignal): Promise<OperationResult> {
  let operation: OperationRequest;
  try {
    operation = normaliseOperation(element);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, body: errorBody(error.message, error.code) };
    throw error;
  }
  return gateway.execute(operation, headers, signal);
}

/** Refuses a body nesting JSON deeper than the limit (deeper JSON would overflow the stack of what reads it next). */
function checkNesting(body: unknown, limit: number): void {
  if (jsonNesting(body, limit) > limit) {
    throw new HttpError(400, "BAD_REQUEST", `The request body nests JSON objects and arrays deeper than ${limit} levels (services.gateway.max_nesting).`);
  }
}

async function handleGraphQLPost(options: GatewayHttpOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const contentType = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType !== "application/json") {
    // Also what keeps cross-site HTML forms (text/plain, urlencoded) from reaching the API with a user's login.
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "POST requests must send a JSON body with `Content-Type: application/json`.");
  }
  const text = await readBody(request, { limit: options.bodyLimit, setting: "services.gateway.body_limit", name: "gateway" });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "The POST body is not valid JSON.");
  }
  const limits = options.gateway.limits;
  checkNesting(body, limits.nesting);
  const headers = flatHeaders(request);
  const signal = clientGone(response);
  if (Array.isArray(body)) {
    if (body.length === 0) throw new HttpError(400, "BAD_REQUEST", "The batch is empty: send at least one operation.");
    if (body.length > limits.batch) {
      throw new HttpError(400, "BAD_REQUEST", `The batch holds ${body.length} operations, more than the limit of ${limits.batch} (services.gateway.max_batch_size).`);
    }
    // Each operation of a batch is answered on its own: one failing does not fail the others, and the batch as a
    // whole is a 200 (as v1's Apollo Server 2 answered batches).
    const results = await Promise.all(body.map((element) => runOne(options.gateway, element, headers, signal)));
    return sendJsonText(response, 200, `[${results.map(resultJson).join(",")}]`);
  }
  const result = await runOne(options.gateway, body, headers, signal);
  sendJsonText(response, result.status, resultJson(result));
}

async function handleGraphQLGet(options: GatewayHttpOptions, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  if (!options.gateway.composed) {
    const result = await options.gateway.execute({}, {});
    return sendJson(response, result.status, result.body);
  }
  const params = url.searchParams;
  const variables = params.get("variables");
  const operation = normaliseOperation({ query: params.get("query") ?? undefined, variables: variables ?? undefined, operationName: params.get("operationName") ?? undefined });
  checkNesting(operation.variables, options.gateway.limits.nesting);
  const result = await options.gateway.executeGet(operation, flatHeaders(request), url.search, clientGone(response));
  sendJson(response, result.status, result.body);
}


/** Where a request goes: its URL, its path without trailing slashes, its method. */
interface Target {
  url: URL;
  path: string;
  method: string;
}

/** One step of the gateway's handling: answers the request (true) or leaves it to the next step (false). */
type Step = (request: IncomingMessage, response: ServerResponse, target: Target) => boolean | Promise<boolean>;

const isRead = (method: string) => method === "GET" || method === "HEAD";

/** Every response allows any origin; a preflight is answered here, without authentication (browsers send none). */
function installCors(steps: Step[]): void {
  steps.push((request, response, { method }) => {
    setCors(request, response);
    if (method !== "OPTIONS") return false;
    response.writeHead(204, { "content-length": "0" }).end();
    return true;
  });
}

/** GET /health: 200 while the process runs, never behind credentials. */
function installHealth(steps: Step[]): void {
  steps.push((_request, response, { path, method }) => {
    if (path !== "/health" || !isRead(method)) return false;
    sendJson(response, 200, { status: "ok" });
    return true;
  });
}

/** With an auth string set, everything below needs HTTP basic credentials. */
function installAuth(steps: Step[], authString: string): void {
  const checkAuth = basicAuthCheck(authString);
  if (!checkAuth) return;
  steps.push((request, response) => {
    if (checkAuth(request.headers.authorization)) return false;
    request.resume();
    refuseWithoutCredentials(response);
    return true;
  });
}

/** GET /ready: 200 when composed and every subgraph and the database answer, else 503 with the failing checks. */
function installReady(steps: Step[], options: GatewayHttpOptions): void {
  steps.push(async (_request, response, { path, method }) => {
    if (path !== "/ready" || !isRead(method)) return false;
    const report = await options.gateway.readiness(options.databaseCheck);
    sendJson(response, report.ready ? 200 : 503, { status: report.ready ? "ready" : "not ready", checks: report.checks });
    return true;
  });
}

/** GET /metrics, behind the basic auth above (GraphQL POSTed to /metrics stays GraphQL, as on every path). */
function installMetrics(steps: Step[], enabled: boolean): void {
  if (!enabled) return;
  const serve = metricsHandler({ authString: "" }); // the credentials were checked by installAuth
  steps.push(async (request, response, { path, method }) => {
    if (path !== METRICS_PATH || !isRead(method)) return false;
    await serve(request, response);
    return true;
  });
}

/** The playground: its assets, and its page for a browser asking for / or /graphql (404 when switched off). */
function installPlayground(steps: Step[], enabled: boolean): void {
  steps.push((request, response, { path }) => {
    if (enabled && serveRuruAsset(request, response)) return true;
    if (!GRAPHQL_GET_PATHS.has(path) || !wantsPage(request)) return false;
    sendPlayground(request, response, path, enabled);
    return true;
  });
}

/** GraphQL: POST on any path (v1 served every path), GET with a query string on / and /graphql. */
function installGraphQL(steps: Step[], options: GatewayHttpOptions): void {
  steps.push(async (request, response, { url, path, method }) => {
    if (method === "POST") await handleGraphQLPost(options, request, response);
    else if (isRead(method) && GRAPHQL_GET_PATHS.has(path)) await handleGraphQLGet(options, request, response, url);
    else return false;
    return true;
  });
}

/** The request handler: the steps above, in order. */
export function createHandler(options: GatewayHttpOptions): Handler {
  const steps: Step[] = [];
  installCors(steps);
  installHealth(steps);
  installAuth(steps, options.authString);
  installReady(steps, options);
  installMetrics(steps, options.enableMetrics);
  installPlayground(steps, options.enablePlayground);
  installGraphQL(steps, options);
  return async (request, response) => {
    const url = new URL(request.url ?? "/", "http://gateway");
    const target = { url, path: url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname, method: request.method ?? "GET" };
    for (const step of steps) if (await step(request, response, target)) return;
    if (isRead(target.method)) throw new HttpError(404, "NOT_FOUND", `Nothing is served at ${url.pathname}; GraphQL is POSTed to / or /graphql.`);
    throw new HttpError(405, "METHOD_NOT_ALLOWED", `${target.method} is not supported; GraphQL requests are POSTed.`);
  };
}

export function createGatewayServer(options: GatewayHttpOptions): Server {
  // Receiving a request (headers and body) may take at most request_timeout_seconds; subgraph calls have the
  // same limit each (subgraphs.ts).
  return createHttpServer(createHandler(options), options.log, options.http);
}
