// The test harness itself: per-file databases cloned from the template, and per-file Redis prefixes, both cleaned up.
import { describe, expect, inject, test } from "vitest";
import { withClient } from "../../services/shared/src/database/migrations.ts";
import { createTestDatabase, useTestDatabase } from "../helpers/database.ts";
import { useTestRedis } from "../helpers/redis.ts";

async function databaseExists(name: string): Promise<boolean> {
  return withClient(inject("adminDatabaseUrl"), async (client) => {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    return rowCount === 1;
  });
}

let usedDatabase = "";
let usedKey = "";

describe("useTestDatabase", () => {
  const db = useTestDatabase();

  test("gives a migrated database of its own", async () => {
    usedDatabase = db.name;
    expect(db.name).toMatch(/^prefect_test_\d+_\d+_[0-9a-f]{6}$/);
    expect(db.url.endsWith(`/${db.name}`)).toBe(true);
    const { rows } = await db.pool.query("select filename from graphile_migrate.migrations order by filename");
    expect(rows.map((row) => row.filename)).toEqual(["000001.sql", "000002.sql", "000003.sql", "000004.sql", "000005.sql", "000006.sql", "000007.sql", "000008.sql", "000009.sql", "000010.sql", "000011.sql"]);
  });

  test("databases are independent", async () => {
    const other = await createTestDatabase();
    try {
      await other.pool.query("insert into tenant (name, slug) values ('only-here', 'only-here')");
      const { rows } = await db.pool.query("select count(*)::int as n from tenant where slug = 'only-here'");
      expect(rows[0].n).toBe(0);
    } finally {
      await other.drop();
    }
    expect(await databaseExists(other.name)).toBe(false);
  });
});

describe("useTestRedis", () => {
  const redis = useTestRedis();

  test("gives a client and a prefix of its own", async () => {
    usedKey = `${redis.prefix}:key`;
    expect(redis.client.options.maxRetriesPerRequest).toBeNull();
    await redis.client.set(usedKey, "value");
    expect(await redis.client.get(usedKey)).toBe("value");
  });
});

describe("after the suites above", () => {
  const redis = useTestRedis();

  test("their database was dropped and their keys deleted", async () => {
    expect(usedDatabase).not.toBe("");
    expect(await databaseExists(usedDatabase)).toBe(false);
    expect(await redis.client.exists(usedKey)).toBe(0);
  });
});
