// The HTTP side of the service: `GET /health`, and GraphQL (Apollo Server 5, no framework) at the configured path,
// with and without its trailing slash. Each piece is installed by a small function onto a route table.
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHttpServer, prefectHeaders } from "../../shared/src/http.ts";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from "@apollo/server";
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { createJobProducer } from "../../shared/src/queues.ts";
import { CLOUD_HOOK_QUEUE, createCloudHookDispatcher, type CloudHookDispatcher } from "../../domain/src/cloud_hooks/events.ts";
import type { Context } from "./graphql/context.ts";
import { formatError } from "./graphql/errors.ts";
import { serverVersion } from "./graphql/resolvers/root.ts";
import { buildServiceSchema } from "./graphql/schema.ts";

type Handler = (request: IncomingMessage, response: ServerResponse) => Promise<void>;
type Routes = Map<string, Handler>;

export interface MutationsServiceOptions {
  db: Pool;
  config: Config;
  log: Logger;
  /**
   * Where state writes enqueue cloud-hook deliveries. Default: a dispatcher on the configured queue backend
   * (queue.backend, redis.url, queue.prefix), closed by stop().
   */
  hooks?: CloudHookDispatcher;
}

export interface MutationsService {
  apollo: ApolloServer<Context>;
  hooks: CloudHookDispatcher;
  http: Server;
  /** The context a request with these headers gets (tests drive `apollo.executeOperation` with it). */
  context(headers?: Record<string, string>): Context;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  stop(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function installHealth(routes: Routes): void {
  routes.set("/health", async (request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") return sendJson(response, 405, { error: "method not allowed" });
    sendJson(response, 200, { status: "ok", version: serverVersion() });
  });
}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw Object.assign(new Error(`request body larger than ${limit} bytes`), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A JSON body with Core's quirk undone: Core sends `variables` as a JSON-encoded string (`"null"` when there are
 * none), which Apollo Server 5 rejects. Batches (arrays) are normalised element by element.
 */
export function normaliseBody(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(normaliseBody);
  if (body === null || typeof body !== "object") return body;
  const request = body as Record<string, unknown>;
  if (typeof request.variables !== "string") return request;
  try {
    return { ...request, variables: JSON.parse(request.variables) as unknown };
  } catch {
    return request; // Apollo reports the malformed variables
  }
}

function installGraphql(routes: Routes, apollo: ApolloServer<Context>, options: MutationsServiceOptions, context: MutationsService["context"]): void {
  const bodyLimit = options.config.services.gateway.body_limit;
  const handler: Handler = async (request, response) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown;
    if (request.method === "POST") {
      let text: string;
      try {
        text = await readBody(request, bodyLimit);
      } catch (error) {
        return sendJson(response, (error as { status?: number }).status ?? 400, { errors: [{ message: (error as Error).message }] });
      }
      try {
        body = normaliseBody(text === "" ? {} : JSON.parse(text));
      } catch {
        return sendJson(response, 400, { errors: [{ message: "POST body is not valid JSON" }] });
      }
      headers.set("content-type", "application/json");
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: request.method ?? "GET", headers, search: url.search, body };
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => context(Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]))),
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    response.writeHead(result.status ?? 200, responseHeaders);
    if (result.body.kind === "complete") {
      response.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) response.write(chunk);
      response.end();
    }
  };
  const path = options.config.services.mutations.path;
  const trimmed = path.replace(/\/+$/, "") || "/";
  for (const route of new Set([trimmed, `${trimmed}/`.replace("//", "/"), "/graphql", "/graphql/"])) routes.set(route, handler);
}

/** Builds the service (schema, Apollo, HTTP server) without listening. */
export async function createMutationsService(options: MutationsServiceOptions): Promise<MutationsService> {
  const apollo = new ApolloServer<Context>({
    schema: buildServiceSchema(),
    formatError: formatError(options.log),
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: true,
    csrfPrevention: false,
    introspection: true,
    logger: {
      debug: (message) => options.log.debug(message),
      info: (message) => options.log.info(message),
      warn: (message) => options.log.warn(message),
      error: (message) => options.log.error(message),
    },
    stopOnTerminationSignals: false, // the CLI stops the service (see the gateway's Apollo server)
  });
  await apollo.start();

  const ownHooks = options.hooks === undefined;
  const hooks =
    options.hooks ??
    createCloudHookDispatcher({
      db: options.db,
      producer: createJobProducer(options.config, CLOUD_HOOK_QUEUE),
      log: options.log.child({ name: "prefect-server.CloudHooks" }),
    });
  const context = (headers: Record<string, string> = {}): Context => ({
    db: options.db,
    config: options.config,
    log: options.log,
    headers: prefectHeaders(headers),
    hooks,
  });

  const routes: Routes = new Map();
  const service: MutationsService = {
    apollo,
    hooks,
    context,
    http: createHttpServer((request, response) => {
      const path = new URL(request.url ?? "/", "http://localhost").pathname;
      const handler = routes.get(path);
      if (!handler) return sendJson(response, 404, { error: `no route for ${path}` });
      handler(request, response).catch((error: unknown) => {
        options.log.error({ err: error }, "request failed");
        if (!response.headersSent) sendJson(response, 500, { errors: [{ message: "internal error" }] });
        else response.end();
      });
    }),
    listen: (port = options.config.services.mutations.port, host = options.config.services.mutations.host) =>
      new Promise((resolve, reject) => {
        service.http.once("error", reject);
        service.http.listen(port, host, () => resolve(service.http.address() as AddressInfo));
      }),
    async stop() {
      await new Promise<void>((resolve) => {
        if (!service.http.listening) return resolve();
        service.http.close(() => resolve());
        service.http.closeIdleConnections();
      });
      await apollo.stop();
      if (ownHooks) await hooks.close();
      else await hooks.idle();
    },
  };
  installHealth(routes);
  installGraphql(routes, apollo, options, context);
  return service;
}
