// The Postgres pool of a service, and a helper that runs a function in one transaction.
import pg from "pg";
import { config } from "../config.ts";
import { SESSION_OPTIONS, withSessionOptions } from "./session.ts";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

// timestamptz, jsonb and friends are parsed by the callers that need them; keep int8 as a JS number
// where it fits (counts), as v1's Hasura returned them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => {
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) ? parsed : value;
});

export function createPool(connectionString = config().database.connection_url, max = config().database.pool_size): Pool {
  const pool = new pg.Pool({ ...withSessionOptions(connectionString, SESSION_OPTIONS), max, application_name: "prefect-server" });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  return pool;
}

/**
 * Runs `work` on a client of the pool, returned afterwards. While a client is checked out the pool no longer listens
 * for its errors, so a connection lost between two of its queries (Postgres restarted while the work awaited
 * something else) would be an unhandled 'error' event, which ends the process. The client gets a listener for as
 * long as it is out, and is destroyed instead of returned when its connection failed or `work` called `discard`
 * (a ROLLBACK that did not go through leaves a client in an unknown state).
 */
export async function withPoolClient<T>(db: Pool, work: (client: PoolClient, discard: () => void) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken ??= error);
  client.on("error", onError);
  try {
    return await work(client, () => (broken ??= new Error("discarded")));
  } finally {
    client.off("error", onError);
    client.release(broken);
  }
}

/**
 * Runs `work` inside BEGIN/COMMIT on one client, rolling back on any error. What must follow a commit is written in
 * the same transaction and relayed (the outbox: domain/src/cloud_hooks/outbox.ts), never run after it in process.
 */
export function withTransaction<T>(db: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withPoolClient(db, async (client, discard) => {
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(discard);
      throw error;
    }
  });
}
