// Version locking with the real Prefect Core 1.4.1 (docs/version-locking.md): two processes start the same flow
// run at once (what an agent and a second agent, or a run rescheduled while its first process lives, amount to).
// With version locking on for the flow, the process that loses the race for the flow run's Running state gets
// VERSION_LOCKING_ERROR, Core raises VersionLockMismatchSignal and that process ends without running anything: the
// run ends Success with each task run once.
import { describe, expect, test } from "vitest";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, register, waitForState } from "./helpers/runs.ts";

const e2e = useE2E();

describe("two processes running one flow run", { timeout: 300_000 }, () => {
  test("with version locking on, one of them runs it, once", async () => {
    await createTenantAndProject(e2e);
    const flowId = await register(e2e, flowFile("simple.py"), "e2e-simple");
    const { enable_flow_version_lock: enabled } = await e2e.graphql(
      "mutation($input: enable_flow_version_lock_input!) { enable_flow_version_lock(input: $input) { success error } }",
      { input: { flow_id: flowId } },
    );
    expect(enabled).toEqual({ success: true, error: null });
    const id = await createRun(e2e, "e2e-simple");

    const { flow_run_by_pk: run } = await e2e.graphql("query($id: uuid!) { flow_run_by_pk(id: $id) { flow_id } }", { id });
    // the environment a LocalAgent gives the process it starts for a flow run
    const env = {
      PREFECT__CONTEXT__FLOW_RUN_ID: id,
      PREFECT__CONTEXT__FLOW_ID: run.flow_id,
      PREFECT__CLOUD__SEND_FLOW_RUN_LOGS: "true",
      PREFECT__CLOUD__USE_LOCAL_SECRETS: "false",
      PREFECT__ENGINE__FLOW_RUNNER__DEFAULT_CLASS: "prefect.engine.cloud.CloudFlowRunner",
      PREFECT__LOGGING__LEVEL: "DEBUG",
    };
    const execute = () => e2e.core.prefect(["execute", "flow-run"], { env });
    // The race this test is about: both processes read the run before either sets it Running. Left to chance, one
    // process can start a second late on a busy machine, read the Running state the other wrote and run beside it
    // with the current version, which Core allows ("simultaneous runs of the same flow run") and no version check
    // can tell from a rightful runner. So the test holds the run's row lock until both Running writes wait on it.
    const blocker = await e2e.db.pool.connect();
    let runs: Promise<[Awaited<ReturnType<typeof execute>>, Awaited<ReturnType<typeof execute>>]>;
    try {
      const blockerPid = (await blocker.query("SELECT pg_backend_pid() AS pid")).rows[0].pid;
      await blocker.query("BEGIN");
      await blocker.query("SELECT 1 FROM flow_run WHERE id = $1 FOR NO KEY UPDATE", [id]);
      runs = Promise.all([execute(), execute()]);
      await e2e.waitFor("both Running writes waiting on the run's lock", async (seen) => {
        const { rows } = await e2e.db.pool.query(
          // the first waits on this transaction, the second on the first (the row's lock queue)
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 AND wait_event_type = 'Lock'",
          [blockerPid],
        );
        seen(rows[0].n);
        return rows[0].n >= 2;
      });
      await blocker.query("COMMIT");
    } finally {
      await blocker.query("ROLLBACK").catch(() => {});
      blocker.release();
    }
    const [first, second] = await runs;
    await waitForState(e2e, id, "Success", 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n--- first (exit ${first.code}):\n${first.output.slice(-3000)}\n--- second (exit ${second.code}):\n${second.output.slice(-3000)}`);
    });

    // each task ran once, the flow run went Running once (without the lock, both processes run the tasks: this test
    // fails then). The loser logs "Version lock encountered" at DEBUG; which write it loses depends on timing.
    const states = (await e2e.db.pool.query("select state from flow_run_state where flow_run_id = $1 order by version", [id])).rows.map((row) => row.state);
    expect(states.filter((state) => state === "Running")).toHaveLength(1);
    const perTask = (
      await e2e.db.pool.query(
        `select t.name, count(*) filter (where s.state = 'Running')::int as running, count(*) filter (where s.state = 'Success')::int as success
         from task_run tr join task t on t.id = tr.task_id join task_run_state s on s.task_run_id = tr.id
         where tr.flow_run_id = $1 group by t.name order by t.name`,
        [id],
      )
    ).rows;
    expect(perTask).toEqual([
      { name: "greeting", running: 1, success: 1 },
      { name: "length", running: 1, success: 1 },
      { name: "shout", running: 1, success: 1 },
    ]);
    const said = (await e2e.db.pool.query("select count(*)::int as n from log where flow_run_id = $1 and message like 'e2e says:%'", [id])).rows[0].n;
    expect(said).toBe(1);
  });
});
