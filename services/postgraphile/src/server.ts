// The data graph's HTTP server in this process: v1's Hasura-shaped GraphQL on PostGraphile.
//   POST /graphql, /v1alpha1/graphql   GraphQL (the second is v1's Hasura path)
//   GET  /health                       200 {"status":"ok"} (compose health checks)
import { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createHttpServer } from "../../shared/src/http.ts";
import type { AddressInfo } from "node:net";
import { postgraphile } from "postgraphile";
import { grafserv } from "postgraphile/grafserv/node";
import type { Config } from "../../shared/src/config.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { GRAPHQL_PATHS, type RunningDataGraph } from "./index.ts";
import { createDataGraphPool, makeDataGraphPreset } from "./preset.ts";

type Route = (req: IncomingMessage, res: ServerResponse) => boolean;

const pathOf = (req: IncomingMessage) => (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";

/** GET /health → 200 {"status":"ok"}. */
export function installHealth(routes: Route[]): void {
  routes.push((req, res) => {
    if (pathOf(req) !== "/health") return false;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    return true;
  });
}

/** GraphQL on every path of GRAPHQL_PATHS (grafserv serves /graphql; the others are mapped onto it). */
export function installGraphQL(routes: Route[], handler: (req: IncomingMessage, res: ServerResponse) => void): void {
  routes.push((req, res) => {
    const path = pathOf(req);
    if (!(GRAPHQL_PATHS as readonly string[]).includes(path)) return false;
    if (path !== "/graphql") {
      const url = req.url ?? "";
      const query = url.includes("?") ? url.slice(url.indexOf("?")) : "";
      req.url = `/graphql${query}`;
    }
    handler(req, res);
    return true;
  });
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Serves the data graph from this process (a single-process service, or one worker of a cluster). */
export async function serve(config: Config, log: Logger): Promise<RunningDataGraph> {
  const settings = config.services.postgraphile;
  const pool = createDataGraphPool(config.database.connection_url, config.database.pool_size);
  const pgl = postgraphile(makeDataGraphPreset(pool, { log, enableTableMutations: settings.enable_table_mutations }));
  try {
    await pgl.getSchema(); // fail start-up on a missing table or an unreachable database
  } catch (error) {
    await Promise.resolve(pgl.release()).catch(() => {});
    await pool.end().catch(() => {});
    throw error;
  }
  const serv = pgl.createServ(grafserv);
  const graphql = serv.createHandler();
  const routes: Route[] = [];
  installHealth(routes);
  installGraphQL(routes, (req, res) => graphql(req, res));
  const server = createHttpServer((req, res) => {
    if (!routes.some((route) => route(req, res))) {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
    }
  });
  const address = await listen(server, settings.port, settings.host);
  let stopping: Promise<void> | undefined;
  return {
    address,
    workers: () => [],
    stop: () =>
      (stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await serv.release(); // also releases the PostGraphile instance
        await pool.end();
      })()),
  };
}
