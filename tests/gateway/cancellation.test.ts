// A client that goes away takes its SQL with it: when the HTTP client of the gateway disconnects, the statement the
// data graph runs for it is cancelled in Postgres, in both modes (in_process: the request's abort signal reaches the
// data graph; distributed: the gateway abandons its request to the data graph, whose connection closes). The statement
// timeout is set far beyond the test here, so only the cancellation can end the statement.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { waitFor } from "../helpers/wait.ts";
import { MODES, post, useStacks, type Mode } from "./helpers.ts";

const stacks = useStacks({ PREFECT_SERVER__SERVICES__POSTGRAPHILE__STATEMENT_TIMEOUT_SECONDS: "600" });
let locker: pg.Client;

beforeAll(async () => {
  locker = new pg.Client({ connectionString: stacks.db.url });
  await locker.connect();
});
afterAll(async () => {
  await locker?.end();
});

/** The data graph's statements waiting for the locker's lock. */
const waiting = async (): Promise<number> =>
  Number(
    (
      await stacks.db.pool.query(
        `select count(*) from pg_stat_activity
         where datname = current_database() and application_name = 'prefect-server-postgraphile' and wait_event_type = 'Lock'`,
      )
    ).rows[0].count,
  );

describe.each(MODES)("%s", (mode: Mode) => {
  test("the statement of a request whose client disconnected is cancelled", async () => {
    await locker.query("begin");
    await locker.query("lock table flow_group in access exclusive mode");
    try {
      const client = new AbortController();
      const request = fetch(`${stacks[mode].url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "{ flow_group { id } }" }),
        signal: client.signal,
      }).catch((error: unknown) => error);
      await waitFor("the data graph's statement waiting for the lock", async () => (await waiting()) === 1, 20_000);
      client.abort();
      expect(await request).toBeInstanceOf(Error);
      await waitFor("the statement cancelled", async () => (await waiting()) === 0, 20_000);
      // the locker's transaction is untouched: only the abandoned statement was cancelled
      expect((await locker.query("select 1 as one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await locker.query("rollback");
    }
    expect((await post(`${stacks[mode].url}/graphql`, { query: "{ flow_group(limit: 1) { id } }" })).status).toBe(200);
  });
});
