/* eslint-disable @typescript-eslint/no-explicit-any -- rows and GraphQL results are read field by field */
// Taking over a Prefect Server v1 database (docs/migrating-from-v1.md): a v1 database made the way the field has one
// (tests/helpers/v1.ts) is refused while it holds rows our constraints forbid, taken over with --resolve-conflicts,
// served through the gateway (the UI's dashboard, Core's flow_run_by_pk), written to, handed back to v1 (v1's
// triggers and their locking, alembic_version untouched, every row kept) and taken over again. The refusals are
// checked with their messages, and nothing is written before them.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  AdoptionError,
  checkPostgresVersion,
  inspectDatabase,
  V1_HEAD_REVISION,
} from "../../services/shared/src/database/adoption.ts";
import { downgrade, migrationStatus, reset, upgrade, withClient } from "../../services/shared/src/database/migrations.ts";
import { startStack, type Stack } from "../gateway/helpers.ts";
import { dumpCatalog } from "../helpers/catalog.ts";
import { createEmptyDatabase, createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { makeV1Schema, rowCounts, seedV1, v1TablesOf, type V1Rows } from "../helpers/v1.ts";
import { V1_TABLES } from "../../services/shared/src/database/v1_tables.ts";
import * as ui from "../ui/documents.ts";

const databases: TestDatabase[] = [];
async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createEmptyDatabase();
  databases.push(db);
  return db;
}
afterAll(async () => {
  for (const db of databases) await db.drop();
});

const lines: string[] = [];
const log = (line: string) => lines.push(line);

async function graphileRecords(db: TestDatabase): Promise<string[] | null> {
  const { rows } = await db.pool.query("select to_regclass('graphile_migrate.migrations') is not null as present");
  if (!rows[0].present) return null;
  return (await db.pool.query("select filename from graphile_migrate.migrations order by filename")).rows.map((row) => row.filename);
}

describe("a v1 database, taken over and handed back", () => {
  let db: TestDatabase;
  let v1: V1Rows;
  let before: Record<string, number>;
  let stack: Stack | undefined;

  beforeAll(async () => {
    db = await emptyDatabase();
    await makeV1Schema(db.pool);
    v1 = await seedV1(db.pool);
    before = await rowCounts(db.pool);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  test("V1_TABLES lists exactly what 000001 creates", async () => {
    const fresh = await emptyDatabase();
    await makeV1Schema(fresh.pool);
    expect(await v1TablesOf(fresh.pool, Object.keys(V1_TABLES))).toEqual(V1_TABLES);
    const tables = (await fresh.pool.query("select tablename from pg_tables where schemaname = 'public' and tablename <> 'alembic_version'")).rows;
    expect(tables.map((row) => row.tablename).sort()).toEqual(Object.keys(V1_TABLES).sort());
  });

  test("recognised as v1 at its last revision", async () => {
    expect(await withClient(db.url, inspectDatabase)).toEqual({ kind: "v1", revision: V1_HEAD_REVISION });
  });

  test("rows v1 allowed and our constraints refuse: listed with what to do, and nothing is written", async () => {
    const error = await upgrade({ connectionString: db.url, log }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AdoptionError);
    const message = (error as Error).message;
    expect(message).toContain("This v1 database holds rows that this server's constraints do not allow. Nothing was changed.");
    expect(message).toContain("1 flow group name(s) used more than once in a tenant");
    expect(message).toContain(`${v1.flowGroupIds[0]}, ${v1.flowGroupIds[1]}`);
    expect(message).toContain("1 flow version(s) given to more than one flow of a version group");
    expect(message).toContain("prefect-server database upgrade --resolve-conflicts");
    expect(await graphileRecords(db)).toBeNull();
    expect(await rowCounts(db.pool)).toEqual(before);
  });

  test("taken over with --resolve-conflicts: every row kept, alembic_version and hdb_catalog untouched", async () => {
    lines.length = 0;
    const applied = await upgrade({ connectionString: db.url, log, resolveConflicts: true });
    expect(applied[0]).toBe("000001-v1-schema.sql");
    expect(applied.at(-1)).toBe((await migrationStatus({ connectionString: db.url })).applied.at(-1));
    expect((await migrationStatus({ connectionString: db.url })).pending).toEqual([]);
    // one flow group fewer (merged); every other row is there
    expect(await rowCounts(db.pool)).toEqual({ ...before, flow_group: before.flow_group! - 1 });
    const flows = (await db.pool.query("select id, flow_group_id, version from flow order by created")).rows;
    expect(flows.map((flow) => [flow.id, flow.flow_group_id, flow.version])).toEqual([
      [v1.flowIds[0], v1.flowGroupIds[0], 1],
      [v1.flowIds[1], v1.flowGroupIds[0], 2],
      [v1.flowIds[2], v1.flowGroupIds[0], 3],
    ]);
    expect((await db.pool.query("select version_num from alembic_version")).rows).toEqual([{ version_num: V1_HEAD_REVISION }]);
    expect((await db.pool.query("select version from hdb_catalog.hdb_version")).rows).toEqual([{ version: "47" }]);
    // the account: what was found, each step with its duration
    expect(lines[0]).toMatch(/^Found a Prefect Server v1 database at alembic revision ac5747fb571c/);
    expect(lines).toContain("Recorded '000001-v1-schema.sql' as applied: the database already has v1's schema.");
    expect(lines).toContain("Applying '000002-improvements-over-v1.sql' with concurrent index builds");
    expect(lines.some((line) => /^ {2}index ix_flow_run_queue built in \d+\.\d s$/.test(line))).toBe(true);
    expect(lines.some((line) => /^Applied '000005-set-based-state-triggers.sql' in \d+\.\d s\.$/.test(line))).toBe(true);
  });

  test("the taken-over schema is what a new database of ours has, plus alembic's table", async () => {
    const fresh = await createTestDatabase();
    databases.push(fresh);
    const [ours, taken] = [await dumpCatalog(fresh.pool), await dumpCatalog(db.pool)];
    const { "public.alembic_version": alembic, ...tables } = taken.tables;
    expect(alembic).toBeDefined();
    expect(tables).toEqual(ours.tables);
    expect(taken.functions).toEqual(ours.functions);
    expect(taken.functionBodies).toEqual(ours.functionBodies);
  });

  test("served through the gateway: the UI's dashboard and Core's flow_run_by_pk read the old runs", async () => {
    stack = await startStack("distributed", db.url);
    const post = async (body: unknown) => (await (await fetch(`${stack!.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    })).json()) as any;
    const dashboard = await post({ query: ui.DASHBOARD_FLOW_RUNS, variables: { projectId: null, heartbeat: new Date(Date.now() - 86_400_000).toISOString() } });
    expect(dashboard.errors).toBeUndefined();
    expect(dashboard.data.Success.aggregate.count).toBe(1);
    expect(dashboard.data.Scheduled.aggregate.count).toBe(1);
    const core = await post({
      query: `query { flow_run_by_pk(id: "${v1.finishedRunId}") { id name version state serialized_state task_runs(where: {map_index: {_eq: -1}}) { id version state task { slug } } states(order_by: {version: asc}) { state } } }`,
    });
    expect(core.errors).toBeUndefined();
    expect(core.data.flow_run_by_pk).toMatchObject({ name: "v1-finished-run", version: 4, state: "Success" });
    expect(core.data.flow_run_by_pk.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
    expect(core.data.flow_run_by_pk.task_runs.map((t: any) => [t.task.slug, t.state, t.version]).sort()).toEqual([
      ["extract", "Success", 3],
      ["load", "Success", 3],
    ]);
  });

  test("written to: a new run gets its Scheduled state and task runs through our triggers", async () => {
    const created = await (await fetch(stack!.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: "mutation($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }",
        variables: JSON.stringify({ input: { flow_id: v1.flowIds[2], flow_run_name: "written-after-take-over" } }),
      }),
    })).json() as any;
    expect(created.errors).toBeUndefined();
    const run = (await db.pool.query("select state, version from flow_run where id = $1", [created.data.create_flow_run.id])).rows[0];
    expect(run).toEqual({ state: "Scheduled", version: 1 });
    expect((await db.pool.query("select count(*)::int from task_run where flow_run_id = $1", [created.data.create_flow_run.id])).rows[0].count).toBe(2);
    await stack!.stop();
    stack = undefined;
  });

  test("downgrade to base or reset would destroy the history: refused without --unsafe, nothing changed", async () => {
    const applied = (await migrationStatus({ connectionString: db.url })).applied;
    const base = await downgrade({ connectionString: db.url, target: "base" }).catch((caught: unknown) => caught);
    expect(base).toBeInstanceOf(AdoptionError);
    expect((base as Error).message).toMatch(/^This database was taken over from Prefect Server v1: undoing 000001 would drop its tables/);
    expect((base as Error).message).toContain("prefect-server database downgrade -n 1");
    expect(await reset({ connectionString: db.url }).catch((caught: unknown) => caught)).toBeInstanceOf(AdoptionError);
    expect((await migrationStatus({ connectionString: db.url })).applied).toEqual(applied);
  });

  test("handed back with downgrade -n 1: v1's schema and triggers, alembic_version untouched, every row kept", async () => {
    const counts = await rowCounts(db.pool);
    await downgrade({ connectionString: db.url, target: "1" });
    expect(await graphileRecords(db)).toEqual(["000001.sql"]);
    expect(await rowCounts(db.pool)).toEqual(counts);
    expect((await db.pool.query("select version_num from alembic_version")).rows).toEqual([{ version_num: V1_HEAD_REVISION }]);
    // v1's schema: what 000001 makes of an empty database
    const v1Schema = await emptyDatabase();
    await makeV1Schema(v1Schema.pool);
    const [expected, handedBack] = [await dumpCatalog(v1Schema.pool), await dumpCatalog(db.pool)];
    expect(handedBack.tables).toEqual(expected.tables);
    expect(handedBack.functionBodies).toEqual(expected.functionBodies);
  });

  test("v1's state trigger locks the run FOR NO KEY UPDATE: a log written meanwhile does not wait", async () => {
    const writer = await db.pool.connect();
    const other = await db.pool.connect();
    try {
      await writer.query("begin");
      await writer.query(
        `insert into flow_run_state (flow_run_id, version, state, serialized_state) values ($1, 2, 'Submitted', '{"type": "Submitted"}')`,
        [v1.scheduledRunId],
      );
      await other.query("set statement_timeout = '2s'");
      // the log's foreign-key check takes FOR KEY SHARE on the run, which a FOR NO KEY UPDATE lock lets through
      await other.query("insert into log (flow_run_id, message) values ($1, 'while a state is written')", [v1.scheduledRunId]);
      await writer.query("commit");
    } finally {
      await writer.query("rollback").catch(() => {});
      writer.release();
      other.release();
    }
    expect((await db.pool.query("select state, version from flow_run where id = $1", [v1.scheduledRunId])).rows[0]).toEqual({
      state: "Submitted",
      version: 2,
    });
  });

  test("taken over again: the index-only migrations are built concurrently, the rest applied", async () => {
    lines.length = 0;
    const applied = await upgrade({ connectionString: db.url, log });
    expect(applied[0]).toBe("000002-improvements-over-v1.sql");
    expect(lines).toContain("Applying '000003-dashboard-flow-run-counts.sql' with concurrent index builds");
    expect((await migrationStatus({ connectionString: db.url })).pending).toEqual([]);
  });
});

describe("refusals, before anything is written", () => {
  test("a v1 database at an older alembic revision", async () => {
    const db = await emptyDatabase();
    await makeV1Schema(db.pool, "a666a3f4e422");
    const error = await upgrade({ connectionString: db.url }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      "This is a Prefect Server v1 database at alembic revision a666a3f4e422, not at v1's last revision ac5747fb571c. " +
        "Nothing was changed. Bring it to v1's last schema with v1's own tools first (`prefect server database upgrade`, " +
        "or `alembic upgrade head` in v1's server), then run `prefect-server database upgrade` again.",
    );
    expect(await graphileRecords(db)).toBeNull();
  });

  test("a database holding other tables", async () => {
    const db = await emptyDatabase();
    await db.pool.query("create table customers (id int); create table orders (id int)");
    const error = await upgrade({ connectionString: db.url }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      "This database holds tables (customers, orders) but neither this server's migration records nor v1's " +
        "alembic_version. Nothing was changed. Point the server at an empty database, at one it created, or at a " +
        "Prefect Server v1 database.",
    );
    expect(await graphileRecords(db)).toBeNull();
  });

  test("a v1 database whose schema is not v1's last one", async () => {
    const db = await emptyDatabase();
    await makeV1Schema(db.pool);
    await db.pool.query("alter table flow_run drop column idempotency_key");
    const error = await upgrade({ connectionString: db.url }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe(
      "This database has v1's alembic_version, but its schema is not v1's last schema. Nothing was changed:\n" +
        "  column flow_run.idempotency_key is missing",
    );
    expect(await graphileRecords(db)).toBeNull();
  });

  test("a PostgreSQL older than the migrations need", async () => {
    const db = await emptyDatabase();
    const error = await withClient(db.url, (client) => checkPostgresVersion(client, { number: 990000, name: "99" })).catch(
      (caught: unknown) => caught,
    );
    expect((error as Error).message).toMatch(
      /^This database runs PostgreSQL \d+\.\d+.*; this server needs PostgreSQL 99 or newer\. Nothing was changed\. Upgrade the cluster first \(pg_upgrade/,
    );
  });
});

describe("a database made by the first 000001", () => {
  test("its records are brought to the corrected hashes and 000006 gives it v1's foreign-key names", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    // as the first release left it: the seven keys under Postgres's default names, the earlier hashes, no 000006
    await downgrade({ connectionString: db.url, target: "5" });
    for (const [table, column] of [["edge", "downstream_task_id"], ["edge", "flow_id"], ["edge", "upstream_task_id"],
      ["flow_run", "flow_id"], ["task", "flow_id"], ["task_run", "flow_run_id"], ["task_run", "task_id"]]) {
      await db.pool.query(`alter table ${table} rename constraint fk_${table}_${column} to ${table}_${column}_fkey`);
    }
    await db.pool.query(
      `update graphile_migrate.migrations m set hash = e.hash, previous_hash = e.previous
       from (values ('000001.sql', 'sha1:9a2592ea5a3ccb5e8d288274d108dc59c24c4962', null),
                    ('000002.sql', 'sha1:e5fa30203abd1c543a2d919241ad234a802ba88f', 'sha1:9a2592ea5a3ccb5e8d288274d108dc59c24c4962'),
                    ('000003.sql', 'sha1:587f9d0b8ce5106f7a2d1cddf2f3b6b77674b92e', 'sha1:e5fa30203abd1c543a2d919241ad234a802ba88f'),
                    ('000004.sql', 'sha1:677cdcff35e0bbf390548991f59151b096a13dfb', 'sha1:587f9d0b8ce5106f7a2d1cddf2f3b6b77674b92e'),
                    ('000005.sql', 'sha1:90dc27461a2e8b1f319218b98e2454741d35bfa4', 'sha1:677cdcff35e0bbf390548991f59151b096a13dfb'))
         as e (filename, hash, previous)
       where m.filename = e.filename`,
    );
    expect(await upgrade({ connectionString: db.url })).toEqual(["000006-v1-names-for-earlier-databases.sql", "000007-outbox-log-batch-receipts-and-states-written-once-per-run.sql", "000008-concurrency-limits.sql", "000009-agent-poll-by-tenant.sql", "000010-agent-poll-in-index-order.sql", "000011-concurrency-limits-admit-through-striped-advisory-locks.sql"]);
    const names = (await db.pool.query("select conname from pg_constraint where conname like 'fk\\_%' order by conname")).rows.map((r) => r.conname);
    expect(names).toEqual([
      "fk_edge_downstream_task_id",
      "fk_edge_flow_id",
      "fk_edge_upstream_task_id",
      "fk_flow_run_flow_id",
      "fk_task_flow_id",
      "fk_task_run_flow_run_id",
      "fk_task_run_task_id",
    ]);
    const fresh = await createTestDatabase();
    databases.push(fresh);
    expect((await dumpCatalog(db.pool)).tables).toEqual((await dumpCatalog(fresh.pool)).tables);
  });
});
