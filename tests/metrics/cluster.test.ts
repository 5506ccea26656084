// The data graph in cluster mode (services.postgraphile.workers = 2): requests spread over both workers, and
// GET /metrics, whichever worker answers it, reports the whole cluster: every worker's operations summed, and the
// pools of both workers.
import { request } from "node:http";
import { afterAll, beforeAll, expect, test } from "vitest";
import { pino } from "pino";
import { loadConfig, type Config } from "../../services/shared/src/config.ts";
import { start, type RunningDataGraph } from "../../services/postgraphile/src/index.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { scrape, value } from "../helpers/metrics.ts";
import { ids, seed } from "../postgraphile/seed.ts";

const REQUESTS = 20;
const db = useTestDatabase();
let config: Config;
let service: RunningDataGraph;
let origin: string;

beforeAll(async () => {
  await seed(db.pool);
  config = loadConfig({
    env: {
      DATABASE_URL: db.url,
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "2",
      PREFECT_SERVER__LOGGING__LEVEL: "silent",
    },
    ignoreUserFile: true,
  });
  service = await start(config, pino({ level: "silent" }));
  origin = `http://127.0.0.1:${service.address.port}`;
});

afterAll(async () => {
  await service?.stop();
});

/** A POST on a connection of its own (the primary hands each new connection to the next worker). */
const postAlone = (body: unknown): Promise<number> =>
  new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const call = request(`${origin}/graphql`, { method: "POST", agent: false, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    call.on("error", reject);
    call.end(text);
  });

test("any worker's /metrics reports every worker's operations and pools", async () => {
  expect(service.workers()).toHaveLength(2);
  for (let i = 0; i < REQUESTS; i++) {
    expect(await postAlone({ query: `query ClusterCounted { flow_by_pk(id: "${ids.flow.report}") { name } }` })).toBe(200);
  }
  // each scrape on a new connection: both workers answer some of them, and all give the cluster's figures
  for (let i = 0; i < 4; i++) {
    const all = await scrape(origin, { connection: "close" });
    expect(value(all, "prefect_server_graphql_operation_duration_seconds_count", { service: "postgraphile", operation: "ClusterCounted" })).toBe(REQUESTS);
    expect(value(all, "prefect_server_db_pool_max_connections", { pool: "postgraphile" })).toBe(2 * config.database.pool_size);
    expect(value(all, "prefect_server_http_responses_total", { service: "postgraphile", status: "200" })).toBeGreaterThanOrEqual(REQUESTS);
  }
});
