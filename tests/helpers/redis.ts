// Redis for tests: one client per test file and a key prefix of its own; the file's keys are deleted afterwards.
//
//   const redis = useTestRedis();
//   // keys: `${redis.prefix}:anything`; BullMQ: new Queue(name, { connection: redis.client, prefix: redis.prefix })
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";

export interface TestRedis {
  /** ioredis client (maxRetriesPerRequest: null, as BullMQ requires). */
  readonly client: Redis;
  /** Unique per test file; keys must start with `${prefix}:`. */
  readonly prefix: string;
  readonly url: string;
}

export function useTestRedis(): TestRedis {
  const url = process.env.PREFECT_SERVER_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
  const prefix = `prefect-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  let client: Redis | undefined;
  beforeAll(async () => {
    client = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
    await client.connect();
  });
  afterAll(async () => {
    if (!client) return;
    await deleteKeys(client, `${prefix}:*`);
    await client.quit();
  });
  return {
    get client() {
      if (!client) throw new Error("useTestRedis(): the client exists only inside tests and hooks");
      return client;
    },
    prefix,
    url,
  };
}

async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    if (keys.length) await client.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
}
