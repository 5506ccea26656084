// The HTTP plumbing every service shares, node:http without a framework: the server (keep-alive, a route table,
// one log line per failed request, its answers counted in the metrics), listening and closing, JSON answers, bounded
// bodies, the health and metrics routes, and the request-header rules of v1 (the `x-prefect-*` headers). A service
// wires its routes with small installX functions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { AUTH_REALM, basicAuthCheck } from "./basic_auth.ts";
import type { Config } from "./config.ts";
import { INTERNAL_SECRET_HEADER, internalSecret, sameSecret } from "./internal_auth.ts";
import type { Logger } from "./logger.ts";
import { HttpMetrics, METRICS_CONTENT_TYPE, METRICS_PATH, metricsEnabled, processMetricsText, type MetricsSource } from "./metrics.ts";

/**
 * How long our services keep an idle keep-alive connection open. The gateway's connections to a subgraph are closed
 * by the gateway after SUBGRAPH_CLIENT_IDLE_MS, before the subgraph would close them: a connection closed by the
 * server just as the client reuses it fails the request with ECONNRESET (Node's own default is 5 s on both sides
 * of the race). (Node does not count a connection's idle time between requests against the headers timeout.)
 */
export const SERVER_KEEP_ALIVE_MS = 30_000;

/** How long a client may take to send a request's headers (then 408 and the connection closed). */
export const HEADERS_TIMEOUT_MS = 10_000;

/** How often Node checks connections against the headers and request timeouts (its default, 30 s, lets a slow
 * client hold a connection up to that much longer). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** A body up to this many times the limit is read to its end (and dropped) so that the client, still sending, gets
 * the 413; a larger one gets the 413 with its connection closed. */
const BODY_DRAIN_FACTOR = 4;

/** How long the gateway keeps an idle connection to a subgraph before closing it (see SERVER_KEEP_ALIVE_MS). */
export const SUBGRAPH_CLIENT_IDLE_MS = 25_000;

export type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void> | void;

/** An error answered with its status and a GraphQL-shaped body `{errors: [{message, extensions: {code}}]}`. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

export function sendJsonText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
  response.end(text);
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(response, status, JSON.stringify(body), headers);
}

/** A signal aborted when the client closes its connection before `response` is fully sent (it went away). */
export function clientGone(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.once("close", () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** A request path without its query and trailing slashes (`/graphql/` → `/graphql`, `/` stays). */
export const pathOf = (request: IncomingMessage): string => (request.url ?? "/").split("?")[0]!.replace(/(.)\/+$/, "$1");

/** Exact paths (trailing slashes ignored) and path prefixes to their handlers; services fill it with installX functions. */
export class Routes {
  readonly #handlers = new Map<string, Handler>();
  readonly #prefixes: [string, Handler][] = [];

  add(paths: readonly string[], handler: Handler): void {
    for (const path of paths) this.#handlers.set(path.replace(/(.)\/+$/, "$1"), handler);
  }

  /** Every path starting with `prefix` (static assets). */
  addPrefix(prefix: string, handler: Handler): void {
    this.#prefixes.push([prefix, handler]);
  }

  find(request: IncomingMessage): Handler | undefined {
    const path = pathOf(request);
    return this.#handlers.get(path) ?? this.#prefixes.find(([prefix]) => path.startsWith(prefix))?.[1];
  }
}

export interface HttpServerOptions {
  /** What the server is called in its error texts ("The gateway failed to handle the request."); default "server". */
  name?: string;
  /** How long receiving a whole request (headers and body) may take (Node's requestTimeout; then 408). */
  requestTimeoutMs: number;
  /** Most open connections; one more is answered 503 and closed (0: no cap). */
  maxConnections: number;
  /**
   * A subgraph's: when set, every request but GET /health and GET /metrics (which asks for the basic credentials
   * itself) must carry it in INTERNAL_SECRET_HEADER (only the gateway knows it; internal_auth.ts), else 401.
   */
  internalSecret?: string;
  /** Where the answers are counted (absent: metrics off). */
  metrics?: HttpMetrics;
}

/**
 * The HTTP settings of a service from the configuration (`internal`: a subgraph, which answers only the gateway;
 * `service`: its name in the metrics).
 */
export function serviceHttpOptions(config: Config, name: string, { internal, service }: { internal: boolean; service: string }): HttpServerOptions {
  return {
    name,
    requestTimeoutMs: config.services.gateway.request_timeout_seconds * 1000,
    maxConnections: config.services.max_connections,
    ...(internal ? { internalSecret: internalSecret(config.services.gateway.auth_string) } : {}),
    ...(metricsEnabled(config) ? { metrics: new HttpMetrics(service) } : {}),
  };
}

const TOO_MANY_CONNECTIONS = JSON.stringify(errorBody("The server has too many open connections (services.max_connections); try again shortly.", "SERVICE_UNAVAILABLE"));

/**
 * Caps the open connections: one over `max` gets a 503 written on the raw socket (it has sent nothing yet, or a
 * request the server never reads) and is closed, so that a flood of connections cannot exhaust the process.
 */
function capConnections(server: Server, max: number, metrics: HttpMetrics | undefined): void {
  if (max <= 0) return;
  let open = 0;
  server.on("connection", (socket: Socket) => {
    if (open >= max) {
      metrics?.connectionRefused();
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(TOO_MANY_CONNECTIONS)}\r\n\r\n${TOO_MANY_CONNECTIONS}`,
      );
      socket.destroySoon();
      return;
    }
    open++;
    socket.once("close", () => open--);
  });
}

/**
 * An HTTP server with our timeouts and connection cap, answering from `routes` (404 elsewhere) or with `handler`. An
 * HttpError is answered with its status; any other failure is logged in one line and answered 500.
 */
export function createHttpServer(serve: Routes | Handler, log: Pick<Logger, "error">, options: HttpServerOptions): Server {
  const route: Handler =
    serve instanceof Routes
      ? (request, response) => {
          const handler = serve.find(request);
          if (!handler) throw new HttpError(404, "NOT_FOUND", `Nothing is served at ${pathOf(request)}.`);
          return handler(request, response);
        }
      : serve;
  const secret = options.internalSecret;
  const handle: Handler = secret
    ? (request, response) => {
        const path = pathOf(request);
        if (path !== "/health" && path !== METRICS_PATH && !sameSecret(flatHeader(request, INTERNAL_SECRET_HEADER), secret)) {
          throw new HttpError(
            401,
            "UNAUTHENTICATED",
            `UNAUTHENTICATED: the ${options.name ?? "server"} answers only the gateway while an auth string is set (services.gateway.auth_string); send requests to the gateway.`,
          );
        }
        return route(request, response);
      }
    : route;
  const metrics = options.metrics;
  const server = createServer(
    {
      keepAliveTimeout: SERVER_KEEP_ALIVE_MS,
      headersTimeout: Math.min(HEADERS_TIMEOUT_MS, options.requestTimeoutMs),
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
    (request, response) => {
      if (metrics) response.once("finish", () => metrics.responded(response.statusCode));
      Promise.resolve()
        .then(() => handle(request, response))
        .catch((error: unknown) => {
          if (response.headersSent) return void response.end();
          if (error instanceof HttpError) {
            request.resume();
            return sendJson(response, error.status, errorBody(error.message, error.code), error.status === 413 ? { connection: "close" } : {});
          }
          log.error({ err: error, path: pathOf(request) }, "request failed");
          sendJson(response, 500, errorBody(`The ${options.name ?? "server"} failed to handle the request.`, "INTERNAL_SERVER_ERROR"));
        });
    },
  );
  capConnections(server, options.maxConnections, metrics);
  return server;
}

/** Starts listening; resolves with the address bound (port 0 picks a free one), rejects when it cannot bind. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Stops accepting connections and resolves once every connection is closed: idle ones at once, those with a request
 * in progress after its answer (`force`: at once, abandoning the requests).
 */
export function closeServer(server: Server, force = false): Promise<void> {
  if (!server.listening) return Promise.resolve();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if (force) server.closeAllConnections();
  else server.closeIdleConnections();
  return closed;
}

export interface BodyLimit {
  /** Bytes. */
  limit: number;
  /** The setting that sets it, named in the 413's text. */
  setting: string;
  /** What the server is called in that text (default "server"). */
  name?: string;
}

/**
 * A request body of at most `limit` bytes, as text. A larger body, up to BODY_DRAIN_FACTOR times the limit, is read
 * to its end (not kept) before the 413, so that the client, still sending, gets the answer rather than a broken
 * pipe; past that bound the 413 is sent at once and the connection closed.
 */
export async function readBody(request: IncomingMessage, { limit, setting, name = "server" }: BodyLimit): Promise<string> {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than the ${name} accepts (${limit} bytes; ${setting}).`);
  const drainBound = limit * BODY_DRAIN_FACTOR;
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > drainBound) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
    else if (size > drainBound) throw tooLarge();
  }
  if (size > limit) throw tooLarge();
  return Buffer.concat(chunks).toString("utf8");
}

/** GET /health → 200 with `body()`: the process is up (compose and Kubernetes probes). */
export function installHealth(routes: Routes, body: () => Record<string, unknown> = () => ({ status: "ok" })): void {
  routes.add(["/health"], (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") throw new HttpError(405, "METHOD_NOT_ALLOWED", "GET /health");
    sendJson(response, 200, body());
  });
}

/** The 401 asking for HTTP basic credentials (`WWW-Authenticate: Basic`; basic_auth.ts). */
export function refuseWithoutCredentials(response: ServerResponse): void {
  sendJson(response, 401, errorBody("UNAUTHENTICATED: this server needs HTTP basic credentials.", "UNAUTHENTICATED"), {
    "www-authenticate": `Basic realm="${AUTH_REALM}", charset="UTF-8"`,
  });
}

export interface MetricsRoute {
  /** When set, GET /metrics needs these HTTP basic credentials (services.gateway.auth_string). */
  authString: string;
  /** Default: this process's metrics. */
  source?: MetricsSource;
}

/**
 * GET /metrics: the Prometheus text (metrics.ts), behind the basic credentials of the auth string when one is set
 * (a Prometheus scrape job sends them with `basic_auth`).
 */
export function metricsHandler({ authString, source = processMetricsText }: MetricsRoute): Handler {
  const checkAuth = basicAuthCheck(authString);
  return async (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") throw new HttpError(405, "METHOD_NOT_ALLOWED", `GET ${METRICS_PATH}`);
    if (checkAuth && !checkAuth(request.headers.authorization)) return refuseWithoutCredentials(response);
    const text = await source();
    response.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "content-length": String(Buffer.byteLength(text)) });
    response.end(text);
  };
}

/** Adds GET /metrics (metricsHandler) to a service's routes. */
export function installMetrics(routes: Routes, route: MetricsRoute): void {
  routes.add([METRICS_PATH], metricsHandler(route));
}

/** One request header (`name` lower-case), repeated values joined. */
export function flatHeader(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The request's headers as a plain map, names lower-cased, repeated headers joined. */
export function flatHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/**
 * The request headers whose lower-cased name starts with `x-prefect` (Core's `X-PREFECT-CORE-VERSION`, the agent's
 * `X-PREFECT-AGENT-ID` …), names lower-cased: v1's gateway forwarded them to its Python service, which read them.
 */
export function prefectHeaders(headers: Readonly<Record<string, string | string[] | undefined>>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (!key.startsWith("x-prefect") || value === undefined) continue;
    kept[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return kept;
}

/**
 * A GraphQL request's `variables` with Core's quirk undone: Core sends them as a JSON-encoded string (`"null"` when
 * there are none), which Apollo Server 2 accepted. Throws a 400 HttpError for a string that is not JSON.
 */
export function decodeVariables(variables: unknown): unknown {
  if (typeof variables !== "string") return variables;
  try {
    return variables.trim() === "" ? null : (JSON.parse(variables) as unknown);
  } catch {
    throw new HttpError(400, "BAD_REQUEST", "`variables` is a string that is not valid JSON.");
  }
}
