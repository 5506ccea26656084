// How a writer takes a concurrency limit's slots (migration 000011; docs/concurrency.md, "How exact"): a writer whose
// starts fit the limit's shared share holds the limit's gate shared and one of its 16 stripes, so several start runs
// of one limit at once; near the limit, for a small limit or a big batch, for an agent's poll and for a change of the
// limit, the gate is held alone. Read off pg_locks of open transactions, with real runs counted.
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import pg from "pg";
import { useTestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { insertFlow, insertFlowRun } from "./fixtures.ts";

const db = useTestDatabase();

interface AdvisoryLock {
  key: number;
  /** 0: the gate; 1–16: a stripe. */
  part: number;
  mode: string;
  granted: boolean;
}

let clients: pg.Client[] = [];
let tenantId: string;
let flowId: string;
let limitId: string;
let key: number;

beforeEach(async () => {
  ({ tenantId, flowId } = await insertFlow(db.pool, { tasks: [{ slug: "tagged" }] }));
  await db.pool.query(`update task set tags = '["db"]' where flow_id = $1`, [flowId]);
  limitId = (await db.pool.query(`insert into task_tag_limit (tenant_id, tag, "limit") values ($1, 'db', 64) returning id`, [tenantId])).rows[0].id;
  key = (await db.pool.query("select internal.concurrency_limit_key($1) as key", [limitId])).rows[0].key;
});
afterEach(async () => {
  for (const client of clients) {
    await client.end();
  }
  clients = [];
});

/** A connection of its own (more than the pool holds) inside an open transaction; ended after the test. */
async function transaction(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  clients.push(client);
  await client.query("begin");
  return client;
}

/** The advisory locks a connection holds or waits for, gate first. */
async function locksOf(client: pg.Client): Promise<AdvisoryLock[]> {
  const pid = (client as unknown as { processID: number }).processID; // set once connected
  const { rows } = await db.pool.query<AdvisoryLock>(
    `select classid::int as key, objid::int as part, mode, granted from pg_locks
     where locktype = 'advisory' and objsubid = 2 and pid = $1 order by objid, mode`,
    [pid],
  );
  return rows.map((row) => ({ ...row, key: Number(row.key) }));
}

/** Asks for `wanted` slots of the limit (as a state statement does), inside the client's transaction. */
const ask = (client: pg.Client, wanted = 1, withSubmitted = false) =>
  client.query<{ used: string }>("select used from internal.concurrency_limit_usage('task-tag', array_fill($1::uuid, array[$2::int]), $3, 0)", [
    limitId,
    wanted,
    withSubmitted,
  ]);

/** `count` task runs of the tagged task, Running (committed). */
async function running(count: number) {
  for (let i = 0; i < count; i += 1) await insertFlowRun(db.pool, { tenantId, flowId });
  await db.pool.query("update task_run set state = 'Running' where tenant_id = $1", [tenantId]);
}

const gateAlone = (locks: AdvisoryLock[]) => expect(locks).toEqual([{ key, part: 0, mode: "ExclusiveLock", granted: true }]);

describe("striped admission", () => {
  test("a writer whose starts fit the shared share holds the gate shared and one stripe; sixteen at once, the seventeenth waits for a stripe", async () => {
    const writers = await Promise.all(Array.from({ length: 16 }, () => transaction()));
    for (const writer of writers) await ask(writer, 2);
    const stripes = new Set<number>();
    for (const writer of writers) {
      const locks = await locksOf(writer);
      expect(locks).toHaveLength(2);
      expect(locks[0]).toEqual({ key, part: 0, mode: "ShareLock", granted: true });
      expect(locks[1]).toMatchObject({ key, mode: "ExclusiveLock", granted: true });
      stripes.add(locks[1]!.part);
    }
    expect([...stripes].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));

    const seventeenth = await transaction();
    const asked = ask(seventeenth);
    await waitFor("the seventeenth writer waits for a stripe", async () => (await locksOf(seventeenth)).some((lock) => !lock.granted));
    const awaited = (await locksOf(seventeenth)).find((lock) => !lock.granted)!;
    expect(awaited).toMatchObject({ key, mode: "ExclusiveLock" });
    // it waits for one stripe (the one it tried first): the writer holding that one lets it go on when it commits
    const holders = await Promise.all(writers.map(async (writer) => ({ writer, locks: await locksOf(writer) })));
    await holders.find(({ locks }) => locks[1]!.part === awaited.part)!.writer.query("commit");
    await asked;
    expect((await locksOf(seventeenth)).every((lock) => lock.granted)).toBe(true);
  });

  test("a small limit, a batch beyond a 32nd of the limit, and an agent's poll take the gate alone", async () => {
    const batch = await transaction();
    await ask(batch, 3); // 64 / 32 = 2 slots at most in the shared mode
    gateAlone(await locksOf(batch));
    await batch.query("rollback");

    const poll = await transaction();
    await ask(poll, 1, true);
    gateAlone(await locksOf(poll));
    await poll.query("rollback");

    await db.pool.query(`update task_tag_limit set "limit" = 31 where id = $1`, [limitId]);
    const small = await transaction();
    await ask(small, 1); // 31 / 32 = 0: no shared share at all
    gateAlone(await locksOf(small));
  });

  test("a writer that finds more than half of the limit used takes it again alone (the stripe it held is released)", async () => {
    await running(33);
    const writer = await transaction();
    const { rows } = await ask(writer);
    expect(Number(rows[0]!.used)).toBe(33);
    gateAlone(await locksOf(writer));
  });

  test("at half of the limit used, the shared mode still holds", async () => {
    await running(32);
    const writer = await transaction();
    expect(Number((await ask(writer, 2)).rows[0]!.used)).toBe(32);
    expect((await locksOf(writer)).map((lock) => lock.mode)).toEqual(["ShareLock", "ExclusiveLock"]);
  });

  test("a change of the limit waits for the writers holding it, and writers wait for the change", async () => {
    const writer = await transaction();
    await ask(writer);
    const change = await transaction();
    const changed = change.query(`update task_tag_limit set "limit" = 10 where id = $1`, [limitId]);
    await waitFor("the change waits for the writer", async () => (await locksOf(change)).some((lock) => !lock.granted));
    await writer.query("commit");
    await changed;
    gateAlone(await locksOf(change));

    const next = await transaction();
    const asked = ask(next);
    await waitFor("the next writer waits for the change", async () => (await locksOf(next)).some((lock) => !lock.granted));
    await change.query("commit");
    await asked;
    gateAlone(await locksOf(next)); // 10 / 32 = 0: the new limit has no shared share
  });
});
