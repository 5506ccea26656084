// The session settings of the services' connections (services/shared/src/database/session.ts): JIT compilation is
// off on the shared pool and on the data graph's pool, and the connection URL's own `options` win over them.
import { expect, inject, test } from "vitest";
import { createDataGraphPool } from "../../services/postgraphile/src/preset.ts";
import { withDatabase } from "../../services/shared/src/database/migrations.ts";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";

const url = () => withDatabase(inject("adminDatabaseUrl"), "postgres");

async function settings(pool: Pool, names: string[]): Promise<string[]> {
  try {
    const { rows } = await pool.query<{ setting: string }>("select current_setting(name) as setting from unnest($1::text[]) name", [names]);
    return rows.map((row) => row.setting);
  } finally {
    await pool.end();
  }
}

test("the shared pool's sessions run without JIT compilation", async () => {
  expect(await settings(createPool(url(), 1), ["jit"])).toEqual(["off"]);
});

test("the data graph's sessions run without JIT compilation, in UTC, with Postgres-style intervals", async () => {
  expect(await settings(createDataGraphPool(url(), 1), ["jit", "TimeZone", "IntervalStyle"])).toEqual(["off", "UTC", "postgres"]);
});

test("options in the connection URL win over the services' session settings", async () => {
  const withOptions = `${url()}?options=${encodeURIComponent("-c jit=on")}`;
  expect(await settings(createPool(withOptions, 1), ["jit"])).toEqual(["on"]);
});
