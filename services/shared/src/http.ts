// The HTTP plumbing every service shares, node:http without a framework: the server (keep-alive, a route table,
// one log line per failed request), listening and closing, JSON answers, bounded bodies, a health route, and the
// request-header rules of v1 (the `x-prefect-*` headers). A service wires its routes with small installX functions.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.ts";

/**
 * How long our services keep an idle keep-alive connection open. The gateway's connections to a subgraph are closed
 * by the gateway after SUBGRAPH_CLIENT_IDLE_MS, before the subgraph would close them: a connection closed by the
 * server just as the client reuses it fails the request with ECONNRESET (Node's own default is 5 s on both sides
 * of the race). Below the headers timeout (60 s), which an idle connection must not reach first.
 */
export const SERVER_KEEP_ALIVE_MS = 30_000;

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

/** Exact paths (trailing slashes ignored) to their handlers; services fill it with installX functions. */
export class Routes {
  readonly #handlers = new Map<string, Handler>();

  add(paths: readonly string[], handler: Handler): void {
    for (const path of paths) this.#handlers.set(path.replace(/(.)\/+$/, "$1"), handler);
  }

  find(request: IncomingMessage): Handler | undefined {
    return this.#handlers.get(pathOf(request));
  }
}

export interface HttpServerOptions {
  /** What the server is called in its error texts ("The gateway failed to handle the request."); default "server". */
  name?: string;
  /** How long receiving a whole request (headers and body) may take (Node's requestTimeout). */
  requestTimeoutMs?: number;
}

/**
 * An HTTP server with our keep-alive timeout, answering from `routes` (404 elsewhere) or with `handler`. An
 * HttpError is answered with its status; any other failure is logged in one line and answered 500.
 */
export function createHttpServer(serve: Routes | Handler, log: Pick<Logger, "error">, options: HttpServerOptions = {}): Server {
  const handle: Handler =
    serve instanceof Routes
      ? (request, response) => {
          const handler = serve.find(request);
          if (!handler) throw new HttpError(404, "NOT_FOUND", `Nothing is served at ${pathOf(request)}.`);
          return handler(request, response);
        }
      : serve;
  const server = createServer((request, response) => {
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
  });
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  if (options.requestTimeoutMs !== undefined) {
    server.requestTimeout = options.requestTimeoutMs;
    server.headersTimeout = Math.min(60_000, options.requestTimeoutMs);
  }
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
 * A request body of at most `limit` bytes, as text. A larger body is read to its end (not kept) before the 413, so
 * the client, still sending, gets the answer rather than a reset connection.
 */
export async function readBody(request: IncomingMessage, { limit, setting, name = "server" }: BodyLimit): Promise<string> {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `The request body is larger than the ${name} accepts (${limit} bytes; ${setting}).`);
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
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
