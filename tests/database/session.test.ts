// The session settings of the services' connections (services/shared/src/database/session.ts): JIT compilation is
// off on the shared pool and on the data graph's pool, and the connection URL's own `options` add to them (winning
// for a setting both name). The database here defaults to other values of every setting involved, so each one
// seen below comes from the connection.
import { beforeAll, expect, test } from "vitest";
import { createDataGraphPool } from "../../services/postgraphile/src/preset.ts";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";
import { useTestDatabase } from "../helpers/database.ts";

const db = useTestDatabase();

beforeAll(async () => {
  const name = `"${db.name}"`; // prefect_test_…: no quote inside
  for (const setting of ["jit = on", `"TimeZone" = 'America/New_York'`, "IntervalStyle = 'iso_8601'"]) {
    await db.pool.query(`alter database ${name} set ${setting}`);
  }
});

async function settings(pool: Pool, names: string[]): Promise<string[]> {
  try {
    const { rows } = await pool.query<{ setting: string }>("select current_setting(name) as setting from unnest($1::text[]) name", [names]);
    return rows.map((row) => row.setting);
  } finally {
    await pool.end();
  }
}

const DATA_GRAPH = ["jit", "TimeZone", "IntervalStyle"];

test("the shared pool's sessions run without JIT compilation", async () => {
  expect(await settings(createPool(db.url, 1), ["jit"])).toEqual(["off"]);
});

test("the data graph's sessions run without JIT compilation, in UTC, with Postgres-style intervals", async () => {
  expect(await settings(createDataGraphPool(db.url, { max: 1 }), DATA_GRAPH)).toEqual(["off", "UTC", "postgres"]);
});

test("options in the connection URL win over the services' session settings they name, and only those", async () => {
  const withOptions = `${db.url}?options=${encodeURIComponent("-c jit=on")}`;
  expect(await settings(createPool(withOptions, 1), ["jit"])).toEqual(["on"]);
  expect(await settings(createDataGraphPool(withOptions, { max: 1 }), DATA_GRAPH)).toEqual(["on", "UTC", "postgres"]);
});
