// The HTTP plumbing every service shares.
import { createServer, type RequestListener, type Server } from "node:http";

/**
 * How long our services keep an idle keep-alive connection open. The gateway's connections to a subgraph are closed
 * by the gateway after SUBGRAPH_CLIENT_IDLE_MS, before the subgraph would close them: a connection closed by the
 * server just as the client reuses it fails the request with ECONNRESET (Node's own default is 5 s on both sides
 * of the race). Below the headers timeout (60 s), which an idle connection must not reach first.
 */
export const SERVER_KEEP_ALIVE_MS = 30_000;

/** How long the gateway keeps an idle connection to a subgraph before closing it (see SERVER_KEEP_ALIVE_MS). */
export const SUBGRAPH_CLIENT_IDLE_MS = 25_000;

/** An HTTP server with our keep-alive timeout. */
export function createHttpServer(listener: RequestListener): Server {
  const server = createServer(listener);
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  return server;
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
