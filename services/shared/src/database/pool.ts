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

// Work to do once the transaction of a client commits (e.g. enqueueing cloud-hook deliveries for the state rows it
// wrote), per client inside withTransaction.
const afterCommitWork = new WeakMap<PoolClient, (() => Promise<void>)[]>();

/**
 * Runs `work` once what `db` wrote is committed: after the COMMIT of the withTransaction that `db` belongs to, or at
 * once when `db` is a pool or a client outside withTransaction (each statement commits by itself). Work registered
 * in a transaction that rolls back is dropped. Work registered inside a savepoint that is rolled back still runs: it
 * must read what it needs from the database (rows that were rolled back are simply not found). `work` must not throw.
 */
export async function afterCommit(db: Pool | PoolClient, work: () => Promise<void>): Promise<void> {
  const pending = afterCommitWork.get(db as PoolClient);
  if (pending) pending.push(work);
  else await work();
}

/** Runs `work` inside BEGIN/COMMIT on one client, rolling back on any error; then the client's afterCommit work. */
export async function withTransaction<T>(db: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  const pending: (() => Promise<void>)[] = [];
  let result: T;
  try {
    afterCommitWork.set(client, pending);
    await client.query("BEGIN");
    result = await work(client);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    afterCommitWork.delete(client);
    client.release();
  }
  for (const next of pending) await next();
  return result;
}
