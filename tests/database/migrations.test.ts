// The migration API (services/shared/src/database/migrations.ts) against a real, initially empty database.
// The tests run in order and share one database.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import {
  downgrade,
  ensureDatabase,
  MIGRATIONS_DIR,
  migrationStatus,
  reset,
  upgrade,
  withClient,
  withDatabase,
} from "../../services/shared/src/database/migrations.ts";
import { type CatalogDump, dumpCatalog } from "../helpers/catalog.ts";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.ts";
import { dropDatabase } from "../helpers/postgres.ts";

const V1 = "000001-v1-schema.sql";
const IMPROVEMENTS = "000002-improvements-over-v1.sql";
const DASHBOARD = "000003-dashboard-flow-run-counts.sql";
const WRITE_PATH = "000004-write-path-triggers.sql";
const STATE_TRIGGERS = "000005-set-based-state-triggers.sql";
const V1_NAMES = "000006-v1-names-for-earlier-databases.sql";
const OUTBOX = "000007-outbox-log-batch-receipts-and-states-written-once-per-run.sql";
const LIMITS = "000008-concurrency-limits.sql";
const POLL = "000009-agent-poll-by-tenant.sql";
const POLL_ORDER = "000010-agent-poll-in-index-order.sql";
const STRIPES = "000011-concurrency-limits-admit-through-striped-advisory-locks.sql";
const ALL = [V1, IMPROVEMENTS, DASHBOARD, WRITE_PATH, STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES];

let database: TestDatabase;
let options: { connectionString: string };
let firstUpgrade: CatalogDump;

beforeAll(async () => {
  database = await createEmptyDatabase();
  options = { connectionString: database.url };
});
afterAll(async () => {
  await database?.drop();
});

const count = async (sql: string) => (await database.pool.query<{ n: number }>(sql)).rows[0]!.n;

describe("migration files", () => {
  test("every committed migration has a down script of the same name", async () => {
    const committed = (await readdir(join(MIGRATIONS_DIR, "committed"))).sort();
    const down = (await readdir(join(MIGRATIONS_DIR, "down"))).sort();
    expect(committed).toEqual(ALL);
    expect(down).toEqual(committed);
  });
});

describe("upgrade, downgrade, reset, status", () => {
  test("an empty database has everything pending", async () => {
    expect(await migrationStatus(options)).toEqual({ applied: [], pending: ALL });
  });

  test("upgrade applies every migration and reports their names", async () => {
    const lines: string[] = [];
    expect(await upgrade({ ...options, log: (line) => lines.push(line) })).toEqual(ALL);
    expect(lines.some((line) => line.includes(V1))).toBe(true);
    expect(await migrationStatus(options)).toEqual({ applied: ALL, pending: [] });
    firstUpgrade = await dumpCatalog(database.pool);
    expect(Object.keys(firstUpgrade.tables)).toHaveLength(19); // v1's 16, utility.traversal, the two limit tables
  });

  test("a second upgrade applies nothing", async () => {
    expect(await upgrade(options)).toEqual([]);
  });

  test("downgrade to base undoes everything, newest first, and leaves no object behind", async () => {
    expect(await downgrade(options)).toEqual([STRIPES, POLL_ORDER, POLL, LIMITS, OUTBOX, V1_NAMES, STATE_TRIGGERS, WRITE_PATH, DASHBOARD, IMPROVEMENTS, V1]);
    expect(await migrationStatus(options)).toEqual({ applied: [], pending: ALL });
    const empty = await dumpCatalog(database.pool);
    expect(empty.tables).toEqual({});
    expect(empty.functions).toEqual([]);
    expect(empty.objects).toEqual([]);
    expect(empty.schemas).not.toContain("utility");
  });

  test("upgrading again gives a catalog identical to the first upgrade", async () => {
    expect(await upgrade(options)).toEqual(ALL);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test.each(["000001", "1", V1])("downgrade to target %s undoes only what came after it", async (target) => {
    await upgrade(options);
    expect(await downgrade({ ...options, target })).toEqual([STRIPES, POLL_ORDER, POLL, LIMITS, OUTBOX, V1_NAMES, STATE_TRIGGERS, WRITE_PATH, DASHBOARD, IMPROVEMENTS]);
    expect(await migrationStatus(options)).toEqual({ applied: [V1], pending: [IMPROVEMENTS, DASHBOARD, WRITE_PATH, STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES] });
    expect(await downgrade({ ...options, target })).toEqual([]);
  });

  /** The body of trigger function `name` as `migration` creates it. */
  async function triggerBody(migration: string, name: string): Promise<string | undefined> {
    const text = await readFile(join(MIGRATIONS_DIR, "committed", migration), "utf8");
    return new RegExp(`create (?:or replace )?function ${name}\\(\\) returns trigger\\n[^$]*?as \\$\\$([\\s\\S]*?)\\$\\$;`).exec(text)?.[1];
  }
  const STATE_TRIGGER_FUNCTIONS = ["update_flow_run_details_on_state_insert", "update_task_run_details_on_state_insert"];
  const functionBody = async (name: string) =>
    (await database.pool.query<{ body: string }>("select prosrc as body from pg_proc where proname = $1", [name])).rows.map((row) => row.body);
  const triggerDefinitions = async (names: string[]) =>
    (
      await database.pool.query<{ definition: string }>(
        "select pg_get_triggerdef(oid) as definition from pg_trigger where tgname = any($1) order by tgname",
        [names],
      )
    ).rows.map((row) => row.definition);

  test("downgrading 000005 restores 000004's row-level state triggers exactly", async () => {
    await upgrade(options);
    await downgrade({ ...options, target: "4" });
    for (const name of STATE_TRIGGER_FUNCTIONS) {
      expect(await functionBody(name)).toEqual([await triggerBody(WRITE_PATH, name)]);
    }
    expect(await triggerDefinitions(STATE_TRIGGER_FUNCTIONS)).toEqual([
      "CREATE TRIGGER update_flow_run_details_on_state_insert AFTER INSERT ON public.flow_run_state FOR EACH ROW EXECUTE FUNCTION update_flow_run_details_on_state_insert()",
      "CREATE TRIGGER update_task_run_details_on_state_insert AFTER INSERT ON public.task_run_state FOR EACH ROW EXECUTE FUNCTION update_task_run_details_on_state_insert()",
    ]);
    expect(await upgrade(options)).toEqual([STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES]);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test("downgrading 000007 restores 000005's state trigger bodies exactly and removes the internal schema", async () => {
    await upgrade(options);
    await downgrade({ ...options, target: "6" });
    for (const name of STATE_TRIGGER_FUNCTIONS) {
      expect(await functionBody(name)).toEqual([await triggerBody(STATE_TRIGGERS, name)]);
    }
    expect(await count("select count(*)::int as n from pg_namespace where nspname = 'internal'")).toBe(0);
    expect(await upgrade(options)).toEqual([OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES]);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test("downgrading 000004 restores v1's trigger functions and run-insert trigger exactly", async () => {
    await upgrade(options);
    await downgrade({ ...options, target: "3" });
    for (const name of ["insert_task_runs_after_flow_run_insert", ...STATE_TRIGGER_FUNCTIONS]) {
      expect(await functionBody(name)).toEqual([await triggerBody(V1, name)]);
    }
    expect(await triggerDefinitions(["insert_task_runs_after_flow_run_insert"])).toEqual([
      "CREATE TRIGGER insert_task_runs_after_flow_run_insert AFTER INSERT ON public.flow_run FOR EACH ROW EXECUTE FUNCTION insert_task_runs_after_flow_run_insert()",
    ]);
    expect(await upgrade(options)).toEqual([WRITE_PATH, STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES]);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test("undoing 000002–000005 and upgrading again keeps the data", async () => {
    await upgrade(options);
    await database.pool.query("insert into tenant (name, slug) values ('kept', 'kept')");
    await downgrade({ ...options, target: "1" });
    expect(await upgrade(options)).toEqual([IMPROVEMENTS, DASHBOARD, WRITE_PATH, STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES]);
    expect(await count("select count(*)::int as n from tenant where slug = 'kept'")).toBe(1);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test("an unknown target is rejected before anything is undone", async () => {
    await expect(downgrade({ ...options, target: "000042" })).rejects.toThrow(
      `Unknown migration target '000042'. Known targets: base, ${V1}, ${IMPROVEMENTS}, ${DASHBOARD}, ${WRITE_PATH}, ${STATE_TRIGGERS}, ${V1_NAMES}, ${OUTBOX}, ${LIMITS}, ${POLL}, ${POLL_ORDER}, ${STRIPES}`,
    );
    await expect(downgrade({ ...options, target: "nonsense" })).rejects.toThrow("Unknown migration target");
    expect((await migrationStatus(options)).applied).toEqual(ALL);
  });

  test("a failing down script rolls its step back completely", async () => {
    // 000004's down script replaces insert_task_runs_after_flow_run_insert() with v1's, then fails on its trigger
    // already gone (000011 … 000005 are undone first, and stay undone)
    const body = "select prosrc as body from pg_proc where proname = 'insert_task_runs_after_flow_run_insert'";
    const before = (await database.pool.query<{ body: string }>(body)).rows;
    await database.pool.query("drop trigger insert_task_runs_after_flow_run_insert on flow_run");
    await expect(downgrade(options)).rejects.toThrow(`Undoing migration '${WRITE_PATH}' failed`);
    expect((await migrationStatus(options)).applied).toEqual(ALL.slice(0, -7));
    expect((await database.pool.query<{ body: string }>(body)).rows).toEqual(before);
    await database.pool.query(
      `create trigger insert_task_runs_after_flow_run_insert after insert on flow_run referencing new table as new_flow_runs
       for each statement execute function insert_task_runs_after_flow_run_insert()`,
    );
    expect(await upgrade(options)).toEqual([STATE_TRIGGERS, V1_NAMES, OUTBOX, LIMITS, POLL, POLL_ORDER, STRIPES]);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });

  test("an applied migration without a file is a clear error", async () => {
    await database.pool.query(
      "insert into graphile_migrate.migrations (hash, previous_hash, filename) values ('sha1:fake', null, '000099.sql')",
    );
    await expect(downgrade(options)).rejects.toThrow("Migration '000099.sql' is applied but has no file");
    await database.pool.query("delete from graphile_migrate.migrations where filename = '000099.sql'");
  });

  test("reset rebuilds the schema without the data", async () => {
    await database.pool.query("insert into tenant (name, slug) values ('gone', 'gone')");
    await reset(options);
    expect(await migrationStatus(options)).toEqual({ applied: ALL, pending: [] });
    expect(await count("select count(*)::int as n from tenant")).toBe(0);
    expect(await dumpCatalog(database.pool)).toEqual(firstUpgrade);
  });
});

describe("ensureDatabase", () => {
  test("creates a missing database once", async () => {
    const adminUrl = inject("adminDatabaseUrl");
    const name = `prefect_test_${process.pid}_ensure_${randomBytes(3).toString("hex")}`;
    try {
      expect(await ensureDatabase(withDatabase(adminUrl, name))).toBe(true);
      expect(await ensureDatabase(withDatabase(adminUrl, name))).toBe(false);
      const client = new pg.Client({ connectionString: withDatabase(adminUrl, name) });
      await client.connect();
      await client.end();
    } finally {
      await withClient(adminUrl, (client) => dropDatabase(client, name));
    }
  });
});
