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
