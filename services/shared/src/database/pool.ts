// The Postgres pool every service shares, and a helper that runs a function in one transaction.
import pg from "pg";
import { config } from "../config.ts";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// timestamptz, jsonb and friends are parsed by the callers that need them; keep int8 as a JS number
// where it fits (counts), as v1's Hasura returned them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => {
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : value;
});

export function createPool(connectionString = config().database.connection_url, max = config().database.pool_size): Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: "prefect-server" });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  return pool;
}

let shared: Pool | undefined;

/** The process-wide pool, created on first use from the configuration. */
export function pool(): Pool {
  shared ??= createPool();
  return shared;
}

export async function closePool(): Promise<void> {
  const current = shared;
  shared = undefined;
  await current?.end();
}

/** Runs `work` inside BEGIN/COMMIT on one client, rolling back on any error. */
export async function withTransaction<T>(db: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
