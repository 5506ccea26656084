// The benchmark databases: created and migrated on first use, seeded once per data set and kept between runs so a
// full run does not pay for seeding again (drop them with `dropdb prefect_bench` etc. to start over).
//
//   prefect_bench            the full run's API data: the state-write targets, the data graph, the agent queue
//   prefect_bench_towel      the full run's towel data (the loops scan whole tables, so it has a database of its own)
//   prefect_bench_prune_seed the retention data (suites/prune.ts), copied to prefect_bench_prune for each run
//   prefect_bench_quick…     the same for `--quick`, at a small scale
//   prefect_bench_bigflow    the big-flow scenario: recreated empty on every run
//   prefect_bench_prefect3   the Prefect 3 server's database (suites/prefect3.ts): created empty, dropped after
import pg from "pg";
import { ensureDatabase, upgrade, withClient, withDatabase } from "../../services/shared/src/database/migrations.ts";

const BENCH_DATABASE_URL =
  process.env.PREFECT_SERVER_BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/prefect_bench";

/** The URL of the bench database `prefect_bench<suffix>` (same server and credentials as BENCH_DATABASE_URL). */
export function benchDatabaseUrl(suffix = ""): string {
  const base = new URL(BENCH_DATABASE_URL).pathname.slice(1);
  return withDatabase(BENCH_DATABASE_URL, `${base}${suffix}`);
}

export async function openBenchDatabase(url = BENCH_DATABASE_URL): Promise<pg.Pool> {
  await ensureDatabase(url);
  await upgrade({ connectionString: url });
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => {});
  await pool.query(`
    create table if not exists bench_seed (name text primary key, seeded_at timestamptz not null, seconds float8 not null);
    create table if not exists bench_seed_chunk (name text not null, chunk int not null, seconds float8 not null,
                                                 primary key (name, chunk))`);
  return pool;
}

/** Drops a database if it exists, ending the sessions connected to it. */
export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withClient(withDatabase(url, "postgres"), async (client) => {
    await client.query(`drop database if exists "${name}" with (force)`);
  });
}

/** Drops and recreates a database, migrated (the big-flow scenario starts from nothing every time). */
export async function recreateDatabase(url: string): Promise<void> {
  await dropDatabase(url);
  await ensureDatabase(url);
  await upgrade({ connectionString: url });
}

/** A tenant with one project and one flow of `tasks` tasks (task-1 … task-n), everything named `name` (the tenant's slug too). */
export async function seedFlow(client: pg.PoolClient, name: string, tasks: number): Promise<void> {
  await client.query(
    `with tenant as (insert into tenant (name, slug) values ($1, $1) returning id),
     project as (insert into project (tenant_id, name) select id, $1 from tenant returning id, tenant_id),
     flow_group as (insert into flow_group (tenant_id, name) select id, $1 from tenant returning id),
     flow as (
       insert into flow (tenant_id, project_id, flow_group_id, name, version, version_group_id)
       select project.tenant_id, project.id, flow_group.id, $1, 1, $1 from project, flow_group returning id, tenant_id
     )
     insert into task (tenant_id, flow_id, name, slug)
     select flow.tenant_id, flow.id, 'task-' || n, 'task-' || n from flow, generate_series(1, $2::int) n`,
    [name, tasks],
  );
}

/**
 * SQL of a deterministic uuid for a seeded row (`md5('bench-<kind>-' || part || '-' || …)`), so that each chunk of a
 * seeding can refer to the rows of another without reading them.
 */
export const seededId = (kind: string, ...parts: string[]): string => `md5('bench-${kind}-' || ${parts.join(" || '-' || ")})::uuid`;

/** When a data set was seeded and how long seeding took. */
export interface SeedInfo {
  seededAt: Date;
  seconds: number;
}

async function seeded(pool: pg.Pool, name: string): Promise<SeedInfo | undefined> {
  const { rows } = await pool.query<{ seeded_at: Date; seconds: number }>("select seeded_at, seconds from bench_seed where name = $1", [name]);
  return rows[0] && { seededAt: rows[0].seeded_at, seconds: rows[0].seconds };
}

/**
 * Runs `seed` once for a named data set (its name should include its scale), in one transaction. Returns when it
 * was seeded and the seconds seeding took, now or when it was first seeded.
 */
export async function seedOnce(pool: pg.Pool, name: string, seed: (client: pg.PoolClient) => Promise<void>): Promise<SeedInfo> {
  return seedInChunks(pool, name, 1, (client) => seed(client));
}

/**
 * Seeds a large data set in `chunks` transactions, `seed(client, chunk)` for chunk = 0 … chunks − 1 in order; each
 * chunk is recorded when it commits, so an interrupted seeding resumes at the first missing chunk. The data set
 * counts as seeded (and is analysed) once every chunk is in.
 */
export async function seedInChunks(
  pool: pg.Pool,
  name: string,
  chunks: number,
  seed: (client: pg.PoolClient, chunk: number) => Promise<void>,
  progress: (line: string) => void = () => {},
): Promise<SeedInfo> {
  const existing = await seeded(pool, name);
  if (existing) return existing;
  const { rows } = await pool.query<{ chunk: number }>("select chunk from bench_seed_chunk where name = $1", [name]);
  const done = new Set(rows.map((row) => row.chunk));
  if (done.size > 0) progress(`${name}: resuming after ${done.size} of ${chunks} chunks`);
  const client = await pool.connect();
  try {
    for (let chunk = 0; chunk < chunks; chunk++) {
      if (done.has(chunk)) continue;
      const started = performance.now();
      await client.query("begin");
      try {
        await seed(client, chunk);
        await client.query("insert into bench_seed_chunk (name, chunk, seconds) values ($1, $2, $3)", [
          name,
          chunk,
          (performance.now() - started) / 1000,
        ]);
        await client.query("commit");
      } catch (error) {
        await client.query("rollback");
        throw error;
      }
      if (chunks > 1) progress(`${name}: chunk ${chunk + 1} of ${chunks} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const started = performance.now();
    await client.query("vacuum analyze");
    const { rows: total } = await client.query<{ seconds: number }>("select sum(seconds) as seconds from bench_seed_chunk where name = $1", [name]);
    const seconds = Number(total[0]!.seconds) + (performance.now() - started) / 1000;
    await client.query("insert into bench_seed (name, seeded_at, seconds) values ($1, now(), $2)", [name, seconds]);
    return (await seeded(pool, name))!;
  } finally {
    client.release();
  }
}
