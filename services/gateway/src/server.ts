// The gateway's HTTP side (node:http, no framework), in the order a request meets it:
//   CORS            every response allows any origin; OPTIONS preflights reflect the requested headers (the UI sends
//                   X-Prefect-UI, X-Backend, …) and are answered without authentication (browsers send none)
//   GET /health     200 while the process runs (never needs credentials)
//   basic auth      when services.gateway.auth_string is set: 401 + WWW-Authenticate for anything else without it
//   GET /ready      200 when composed and every subgraph and the database answer, else 503 with the failing checks
//   playground      Ruru from node_modules: GET / or /graphql accepting text/html, assets under /ruru-static/
//   GraphQL         POST on any path (v1 mounted its API on every path: Core posts to /, the UI to /graphql), JSON
//                   only; a single operation or a batch (an array, answered by an array in the same order);
//                   `variables` may be an object, null, absent or a JSON-encoded string (Core sends "null");
//                   GET with a query string on / and /graphql
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ruruHTML } from "ruru/server";
import { serveStatic } from "ruru/static";
import { AUTH_REALM, basicAuthCheck } from "./auth.ts";
import type { Gateway, OperationRequest, OperationResult } from "./gateway.ts";

export const RURU_STATIC_PATH = "/ruru-static/";
const GRAPHQL_GET_PATHS = new Set(["/", "/graphql"]);

export interface GatewayHttpOptions {
  gateway: Gateway;
  bodyLimit: number;
  authString: string;
  enablePlayground: boolean;
  requestTimeoutSeconds: number;
  /** Extra readiness probe (the database). */
  databaseCheck?: () => Promise<void>;
  log: { error(obj: unknown, msg?: string): void };
}

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function sendJsonText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
  response.end(text);
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(response, status, JSON.stringify(body), headers);
}

/** An operation's answer as JSON text: a passed-on answer's own text (reading its `body` would parse it). */
const resultJson = (result: OperationResult): string => result.json ?? JSON.stringify(result.body);

const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

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

/** The request's headers as a plain map with lower-cased names (what subgraphs may be forwarded). */
function flatHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () =>
    new HttpError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than the gateway accepts (${limit} bytes; services.gateway.body_limit).`);
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  // A body without a declared length that grows past the limit is drained (not kept) so that the client, still
  // sending, gets the 413 rather than a reset connection; request_timeout_seconds bounds how long that may take.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  if (size > limit) throw tooLarge();
  return Buffer.concat(chunks).toString("utf8");
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
  let variables = operation.variables;
  if (typeof variables === "string") {
    try {
      variables = variables.trim() === "" ? null : (JSON.parse(variables) as unknown);
    } catch {
      throw new HttpError(400, "BAD_REQUEST", "`variables` is a string that is not valid JSON.");
    }
  }
  if (variables !== undefined && variables !== null && (typeof variables !== "object" || Array.isArray(variables))) {
    throw new HttpError(400, "BAD_REQUEST", "`variables` must be an object (or null, or a JSON string of one).");
  }
  operation.variables = (variables as Record<string, unknown> | null | undefined) ?? null;
  if (operation.operationName === undefined) operation.operationName = null;
  return operation as OperationRequest;
}

/** Runs one element of a body; errors in its shape are that element's answer. */
async function runOne(gateway: Gateway, element: unknown, headers: Record<string, string>): Promise<OperationResult> {
  let operation: OperationRequest;
  try {
    operation = normaliseOperation(element);
  } catch (error) {
    if (error instanceof HttpError) return { status: error.status, body: errorBody(error.message, error.code) };
    throw error;
  }
  return gateway.execute(operation, headers);
}

async function handleGraphQLPost(options: GatewayHttpOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const contentType = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType !== "application/json") {
    // Also what keeps cross-site HTML forms (text/plain, urlencoded) from reaching the API with a user's login.
    throw new HttpError(415, "UNSUPPORTED_MEDIA_TYPE", "POST requests must send a JSON body with `Content-Type: application/json`.");
  }
  const text = await readBody(request, options.bodyLimit);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "The POST body is not valid JSON.");
  }
  const headers = flatHeaders(request);
  if (Array.isArray(body)) {
    if (body.length === 0) throw new HttpError(400, "BAD_REQUEST", "The batch is empty: send at least one operation.");
    // Each operation of a batch is answered on its own: one failing does not fail the others, and the batch as a
    // whole is a 200 (as v1's Apollo Server 2 answered batches).
    const results = await Promise.all(body.map((element) => runOne(options.gateway, element, headers)));
    return sendJsonText(response, 200, `[${results.map(resultJson).join(",")}]`);
  }
  const result = await runOne(options.gateway, body, headers);
  sendJsonText(response, result.status, resultJson(result));
}

async function handleGraphQLGet(options: GatewayHttpOptions, request: IncomingMessage, response: ServerResponse, search: string): Promise<void> {
  if (!options.gateway.composed) {
    const result = await options.gateway.execute({}, {});
    return sendJson(response, result.status, result.body);
  }
  const result = await options.gateway.executePlanned({}, flatHeaders(request), "GET", search);
  sendJson(response, result.status, result.body);
}

const acceptsHtml = (request: IncomingMessage) => /\btext\/html\b/i.test(request.headers.accept ?? "");

/** The request handler. */
export function createHandler(options: GatewayHttpOptions): (request: IncomingMessage, response: ServerResponse) => void {
  const checkAuth = basicAuthCheck(options.authString);
  const ruruStatic = serveStatic(RURU_STATIC_PATH);
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? "/", "http://gateway");
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
    const method = request.method ?? "GET";
    setCors(request, response);
    if (method === "OPTIONS") {
      response.writeHead(204, { "content-length": "0" }).end();
      return;
    }
    if (path === "/health" && (method === "GET" || method === "HEAD")) return sendJson(response, 200, { status: "ok" });
    if (checkAuth && !checkAuth(request.headers.authorization)) {
      request.resume();
      return sendJson(response, 401, errorBody("UNAUTHENTICATED: this server needs HTTP basic credentials.", "UNAUTHENTICATED"), {
        "www-authenticate": `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
      });
    }
    if (path === "/ready" && (method === "GET" || method === "HEAD")) {
      const report = await options.gateway.readiness(options.databaseCheck);
      return sendJson(response, report.ready ? 200 : 503, { status: report.ready ? "ready" : "not ready", checks: report.checks });
    }
    if (method === "POST") return handleGraphQLPost(options, request, response);
    if (method === "GET" || method === "HEAD") {
      if (options.enablePlayground && url.pathname.startsWith(RURU_STATIC_PATH)) {
        ruruStatic(request, response);
        return;
      }
      if (GRAPHQL_GET_PATHS.has(path)) {
        if (acceptsHtml(request)) {
          if (!options.enablePlayground) {
            throw new HttpError(404, "NOT_FOUND", "The GraphQL playground is turned off (services.gateway.enable_playground); POST GraphQL requests here.");
          }
          const html = ruruHTML({ endpoint: path, staticPath: RURU_STATIC_PATH });
          response.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": String(Buffer.byteLength(html)) });
          response.end(method === "HEAD" ? undefined : html);
          return;
        }
        return handleGraphQLGet(options, request, response, url.search);
      }
      throw new HttpError(404, "NOT_FOUND", `Nothing is served at ${url.pathname}; GraphQL is POSTed to / or /graphql.`);
    }
    throw new HttpError(405, "METHOD_NOT_ALLOWED", `${method} is not supported; GraphQL requests are POSTed.`);
  };
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) return void response.end();
      if (error instanceof HttpError) {
        request.resume();
        return sendJson(response, error.status, errorBody(error.message, error.code), error.status === 413 ? { connection: "close" } : {});
      }
      options.log.error({ err: error }, "request failed");
      sendJson(response, 500, errorBody("The gateway failed to handle the request.", "INTERNAL_SERVER_ERROR"));
    });
  };
}

export function createGatewayServer(options: GatewayHttpOptions): Server {
  const server = createServer(createHandler(options));
  // Receiving a request (headers and body) may take at most request_timeout_seconds; subgraph calls have the
  // same limit each (subgraphs.ts).
  server.requestTimeout = options.requestTimeoutSeconds * 1000;
  server.headersTimeout = Math.min(60_000, options.requestTimeoutSeconds * 1000);
  return server;
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
