// The HTTP side of the service: `GET /health`, `GET /metrics`, and GraphQL (Apollo Server 5, no framework) at the
// configured path, with and without its trailing slash, and the playground (offline) for a browser there. Each piece
// is installed by a small function onto a route table.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap, type HTTPGraphQLRequest } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import {
  closeServer,
  createHttpServer,
  decodeVariables,
  flatHeaders,
  HttpError,
  installHealth,
  installMetrics,
  listen,
  prefectHeaders,
  readBody,
  Routes,
  serviceHttpOptions,
  type Handler,
} from "../../shared/src/http.ts";
import { apolloLogger, type Logger } from "../../shared/src/logger.ts";
import { metricsEnabled, OperationMetrics } from "../../shared/src/metrics.ts";
import { installPlayground } from "../../shared/src/playground.ts";
import type { Context } from "./graphql/context.ts";
import { formatError } from "./graphql/errors.ts";
import { serverVersion } from "./graphql/resolvers/root.ts";
import { buildServiceSchema } from "./graphql/schema.ts";
import { operationMetricsPlugin } from "./metrics.ts";

export interface MutationsServiceOptions {
  db: Pool;
  config: Config;
  log: Logger;
}

export interface MutationsService {
  apollo: ApolloServer<Context>;
  http: Server;
  /** The context a request with these headers gets (tests drive `apollo.executeOperation` with it). */
  context(headers?: Record<string, string>): Context;
  listen(port?: number, host?: string): Promise<AddressInfo>;
  stop(): Promise<void>;
}

/**
 * A JSON body with Core's quirk undone (decodeVariables): Apollo Server 5 rejects `variables` sent as a JSON string.
 * Batches (arrays) are normalised element by element.
 */
export function normaliseBody(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(normaliseBody);
  if (body === null || typeof body !== "object" || !("variables" in body)) return body;
  return { ...body, variables: decodeVariables(body.variables) };
}

function installGraphql(routes: Routes, apollo: ApolloServer<Context>, options: MutationsServiceOptions, context: MutationsService["context"]): void {
  const limit = { limit: options.config.services.gateway.body_limit, setting: "services.gateway.body_limit" };
  const handler: Handler = async (request, response) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown;
    if (request.method === "POST") {
      const text = await readBody(request, limit);
      try {
        body = text === "" ? {} : JSON.parse(text);
      } catch {
        throw new HttpError(400, "BAD_REQUEST", "The POST body is not valid JSON.");
      }
      body = normaliseBody(body);
      headers.set("content-type", "application/json");
    }
    const url = new URL(request.url ?? "/", "http://localhost");
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: request.method ?? "GET", headers, search: url.search, body };
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => context(flatHeaders(request)),
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
  routes.add([options.config.services.mutations.path, "/graphql"], installPlayground(routes, handler, options.config.services.gateway.enable_playground));
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
    logger: apolloLogger(options.log),
    // Apollo's landing page loads from Apollo's CDN; the service's own playground is offline (shared/src/playground.ts).
    // Inline traces (per-field timings a request asks for with `apollo-federation-include-trace: ftv1`) feed Apollo's
    // usage reporting, which a self-hosted server never does: no caller gets them.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ...(metricsEnabled(options.config) ? [operationMetricsPlugin<Context>(new OperationMetrics("mutations"))] : []),
    ],
    stopOnTerminationSignals: false, // the CLI stops the service (see the gateway's Apollo server)
  });
  await apollo.start();

  const context = (headers: Record<string, string> = {}): Context => ({
    db: options.db,
    config: options.config,
    log: options.log,
    headers: prefectHeaders(headers),
  });

  const routes = new Routes();
  const service: MutationsService = {
    apollo,
    context,
    http: createHttpServer(routes, options.log, serviceHttpOptions(options.config, "mutations service", { internal: true, service: "mutations" })),
    listen: (port = options.config.services.mutations.port, host = options.config.services.mutations.host) => listen(service.http, port, host),
    async stop() {
      await closeServer(service.http);
      await apollo.stop();
    },
  };
  installHealth(routes, () => ({ status: "ok", version: serverVersion() }));
  if (metricsEnabled(options.config)) installMetrics(routes, { authString: options.config.services.gateway.auth_string });
  installGraphql(routes, apollo, options, context);
  return service;
}
