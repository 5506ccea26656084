// The benchmark database: created and migrated on first use, seeded once per data set and kept between runs so a
// full run does not pay for seeding again (drop it with `dropdb prefect_bench` to start over).
import pg from "pg";
import { ensureDatabase, upgrade } from "../../services/shared/src/database/migrations.ts";

export const BENCH_DATABASE_URL =
  process.env.PREFECT_SERVER_BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/prefect_bench";

export async function openBenchDatabase(): Promise<pg.Pool> {
  await ensureDatabase(BENCH_DATABASE_URL);
  await upgrade({ connectionString: BENCH_DATABASE_URL });
  const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 4 });
  await pool.query("create table if not exists bench_seed (name text primary key, seeded_at timestamptz not null, seconds float8 not null)");
  return pool;
}

/**
 * Runs `seed` once for a named data set (its name should include its scale). Returns the seconds seeding took,
 * now or when it was first seeded.
 */
export async function seedOnce(pool: pg.Pool, name: string, seed: (client: pg.PoolClient) => Promise<void>): Promise<number> {
  const existing = await pool.query<{ seconds: number }>("select seconds from bench_seed where name = $1", [name]);
  if (existing.rows[0]) return existing.rows[0].seconds;
  const started = performance.now();
  const client = await pool.connect();
  try {
    await client.query("begin");
    await seed(client);
    const seconds = (performance.now() - started) / 1000;
    await client.query("insert into bench_seed (name, seeded_at, seconds) values ($1, now(), $2)", [name, seconds]);
    await client.query("commit");
    await client.query("analyze");
    return seconds;
  } catch (error) {
    await client.query("rollback");
    throw error;
  } finally {
    client.release();
  }
}
