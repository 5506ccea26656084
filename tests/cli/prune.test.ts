// `prefect-server database prune` (docs/operations.md, "Retention"): what it says it deleted, the dry run, bad ages, and
// Ctrl-C between two batches.
import { beforeEach, describe, expect, test } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { waitFor } from "../helpers/wait.ts";
import { ageRows, insertRun } from "../towel/fixtures.ts";
import { runCli, startCli } from "./run.ts";

const db = useTestDatabase();

beforeEach(async () => {
  await db.pool.query("delete from tenant");
  await db.pool.query("delete from log");
});

const count = async (table: string) => (await db.pool.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;

/** Two finished runs 40 days old (a task run each, with a log each), and a Running run of the same age whose log is old. */
async function history(): Promise<{ finished: string[]; running: string }> {
  const finished = [];
  for (let index = 0; index < 2; index += 1) finished.push(await insertRun(db.pool, { state: "Success", taskStates: ["Success"] }));
  const running = await insertRun(db.pool, { state: "Running", taskStates: ["Running"] });
  for (const run of [...finished, running]) {
    await db.pool.query("insert into log (tenant_id, flow_run_id, task_run_id, message) values ($1, $2, $3, 'hello')", [run.tenantId, run.flowRunId, run.taskRunIds[0]]);
  }
  await ageRows(db.pool, "flow_run", "true", 40);
  await ageRows(db.pool, "log", "true", 40);
  return { finished: finished.map((run) => run.flowRunId), running: running.flowRunId };
}

describe("prefect-server database prune", () => {
  test("--dry-run counts and deletes nothing; then the prune deletes and says what", async () => {
    await history();
    const before = await Promise.all(["flow_run", "task_run", "log"].map(count));

    const dry = await runCli(["database", "prune", "--older-than", "30d", "--dry-run", "-d", db.url]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /^Counting finished flow runs not updated for 30d \(with their task runs, states, artifacts and logs\) and logs older than 30d …\n/,
    );
    expect(dry.stdout).toMatch(
      /\nWould delete 2 flow runs, 2 flow-run states, 2 task runs, 4 task-run states, 0 artifacts and 3 logs \(counted in \d+\.\d s; nothing was deleted\)\.\n$/,
    );
    const json = await runCli(["database", "prune", "--older-than", "30d", "--logs-older-than", "50d", "--dry-run", "--json", "-d", db.url]);
    expect(JSON.parse(json.stdout)).toEqual({
      dry_run: true,
      seconds: expect.any(Number),
      flow_runs: 2,
      flow_run_states: 2,
      task_runs: 2,
      task_run_states: 4,
      artifacts: 0,
      logs: 2,
    });
    expect(await Promise.all(["flow_run", "task_run", "log"].map(count))).toEqual(before);

    const refused = await runCli(["database", "prune", "--older-than", "30d", "-d", db.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("Not confirmed: there is no terminal to ask on. Pass -y/--yes to go ahead.");

    const pruned = await runCli(["database", "prune", "--older-than", "30d", "-y", "-d", db.url]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.stdout).toMatch(
      /\nDeleted 2 flow runs, 2 flow-run states, 2 task runs, 4 task-run states, 0 artifacts and 3 logs in \d+\.\d s\.\n$/,
    );
    expect(await Promise.all(["flow_run", "task_run", "log"].map(count))).toEqual([1, 1, 0]);

    const again = await runCli(["database", "prune", "--logs-older-than", "1w", "-y", "--json", "-d", db.url]);
    expect(JSON.parse(again.stdout)).toMatchObject({ dry_run: false, complete: true, flow_runs: 0, logs: 0 });
  });

  test("bad ages are one-line errors, and nothing is deleted", async () => {
    await history();
    const cases: [string[], string][] = [
      [["--older-than", "30"], 'Error: --older-than must be a duration such as 30d, 12h or 90m (units s, m, h, d, w), not "30".'],
      [["--older-than", "a week"], 'Error: --older-than must be a duration such as 30d, 12h or 90m (units s, m, h, d, w), not "a week".'],
      [["--logs-older-than", "0h"], 'Error: --logs-older-than must be longer than 0, not "0h".'],
      [["--older-than", "40000d"], 'Error: --older-than must be at most 100 years, not "40000d".'],
      [[], "Error: Give --older-than (finished flow runs and logs) or --logs-older-than (logs only), e.g. --older-than 30d."],
    ];
    const runs = await Promise.all(cases.map(([args]) => runCli(["database", "prune", ...args, "-y", "-d", db.url])));
    expect(runs.map((run) => [run.code, run.stderr.trim()])).toEqual(cases.map(([, error]) => [1, error]));
    expect(await count("flow_run")).toBe(3);
  });

  test("Ctrl-C stops it after the batch in progress; run again, it finishes", async () => {
    const { finished, running } = await history();
    // hold a task-run state of the first batch, so that the prune is inside that batch when Ctrl-C comes
    const holder = await db.pool.connect();
    try {
      await holder.query("begin");
      await holder.query("select 1 from task_run_state where task_run_id in (select id from task_run where flow_run_id = $1) for update", [finished[0]]);
      const prune = startCli(["database", "prune", "--older-than", "30d", "-y", "-d", db.url]);
      await waitFor("the prune to wait for the held row", async () => {
        const { rowCount } = await db.pool.query(
          "select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%task_run_state%'",
        );
        return rowCount === 1;
      });
      prune.child.kill("SIGINT");
      await prune.waitFor("Received SIGINT; shutting down…");
      await holder.query("rollback");
      expect(await prune.exited).toBe(0);
      // the batch of both finished runs went through; the Running run's old log, for the next batch, is still there
      expect(prune.stdout).toMatch(
        /\nStopped after the batch in progress: deleted 2 flow runs, 2 flow-run states, 2 task runs, 4 task-run states, 0 artifacts and 2 logs in \d+\.\d s\. Run the same command again to go on\.\n$/,
      );
    } finally {
      await holder.query("rollback");
      holder.release();
    }
    expect(await count("flow_run")).toBe(1);
    expect((await db.pool.query("select 1 from log where flow_run_id = $1", [running])).rowCount).toBe(1);

    const rest = await runCli(["database", "prune", "--older-than", "30d", "-y", "-d", db.url]);
    expect(rest.stdout).toMatch(/\nDeleted 0 flow runs, 0 flow-run states, 0 task runs, 0 task-run states, 0 artifacts and 1 log in \d+\.\d s\.\n$/);
    expect(await count("log")).toBe(0);
  });
});
