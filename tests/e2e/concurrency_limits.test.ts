// Concurrency limits with the real Prefect Core 1.4.1 (docs/concurrency.md): Core's own client sets and reads a task
// tag's limit (update_task_tag_limit, get_task_tag_limit); a flow mapping 20 children over a tag limited to 2, run
// by eight threads, never has more than 2 of them running at once: the others are answered QUEUED, Core's task
// runner waits (cloud.queue_interval, 1 s here) and asks again, and every child ends Success. Runs of a label
// limited to 1, polled for by two agents, go one at a time.
import { describe, expect, test } from "vitest";
import { peakRunning, startSampler } from "../helpers/sampler.ts";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, register, waitForFinished, waitForState } from "./helpers/runs.ts";

const e2e = useE2E();
const TAG = "e2e-limited";

describe("concurrency limits with Prefect Core", { timeout: 300_000 }, () => {
  test("Core's client sets and reads the limit through the gateway", async () => {
    await createTenantAndProject(e2e);
    const read = await e2e.core.python(
      `from prefect import Client
c = Client()
c.update_task_tag_limit("${TAG}", 5)
c.update_task_tag_limit("${TAG}", 2)
print("limit", c.get_task_tag_limit("${TAG}"), c.get_task_tag_limit("no-such-tag"))`,
    );
    expect(read).toContain("limit 2 None");
    const bad = await e2e.core.python(
      `from prefect import Client
try:
    Client().delete_task_tag_limit("not-a-uuid")
except Exception as error:
    print("refused:", error)`,
    );
    expect(bad).toContain("refused:");
  });

  test("20 mapped children over a tag limited to 2: never more than 2 running, all Success", async () => {
    const flowId = await register(e2e, flowFile("limited.py"), "e2e-limited");
    const id = await createRun(e2e, "e2e-limited");
    const { flow_run_by_pk: run } = await e2e.graphql("query($id: uuid!) { flow_run_by_pk(id: $id) { flow_id } }", { id });
    expect(run.flow_id).toBe(flowId);
    // the environment a LocalAgent gives the process it starts, and a short wait between QUEUED answers
    const env = {
      PREFECT__CONTEXT__FLOW_RUN_ID: id,
      PREFECT__CONTEXT__FLOW_ID: flowId,
      PREFECT__CLOUD__SEND_FLOW_RUN_LOGS: "true",
      PREFECT__CLOUD__USE_LOCAL_SECRETS: "false",
      PREFECT__CLOUD__QUEUE_INTERVAL: "1",
      PREFECT__ENGINE__FLOW_RUNNER__DEFAULT_CLASS: "prefect.engine.cloud.CloudFlowRunner",
    };
    const sampler = startSampler(async () => {
      const { rows } = await e2e.db.pool.query(
        `select count(*)::int as running from task_run tr join task t on t.id = tr.task_id
         where tr.flow_run_id = $1 and t.tags ? $2 and tr.state = 'Running'`,
        [id, TAG],
      );
      return rows[0] as { running: number };
    }, 20);
    const execution = await e2e.core.prefect(["execute", "flow-run"], { env, timeoutMs: 240_000 });
    const { most: { running: most } } = await sampler.stop();
    await waitForState(e2e, id, "Success", 30_000).catch((error: Error) => {
      throw new Error(`${error.message}\n--- execute (exit ${execution.code}):\n${execution.output.slice(-4000)}`);
    });

    const children = (
      await e2e.db.pool.query(
        `select tr.id, tr.state from task_run tr join task t on t.id = tr.task_id
         where tr.flow_run_id = $1 and t.tags ? $2 and tr.map_index >= 0 order by tr.map_index`,
        [id, TAG],
      )
    ).rows;
    expect(children).toHaveLength(20);
    expect(children.filter((child) => child.state !== "Success")).toEqual([]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(2);
    // the history says the same: replay the children's Running and finished states in the order they were written
    const { rows } = await e2e.db.pool.query(
      `select s.state from task_run_state s join task_run tr on tr.id = s.task_run_id join task t on t.id = tr.task_id
       where tr.flow_run_id = $1 and t.tags ? $2 and tr.map_index >= 0 and s.state in ('Running', 'Success')
       order by s.timestamp, s.version`,
      [id, TAG],
    );
    expect(peakRunning(rows)).toBe(2);
    // Core saw the QUEUED answers (it logs the Queued state its task runner ends a round in) and waited
    expect(execution.output).toMatch(/Queued/);
  });

  test("runs of a label limited to 1, with two agents polling for them, go one at a time and all succeed", async () => {
    await e2e.core.prefectOk(["register", "-p", flowFile("label_limited.py"), "--project", "e2e"]);
    const { update_flow_concurrency_limit: limit } = await e2e.graphql(
      "mutation { update_flow_concurrency_limit(input: {label: \"e2e-gpu\", limit: 1}) { id } }",
    );
    expect(limit.id).toBeTruthy();
    const ids = [await createRun(e2e, "e2e-label-limited"), await createRun(e2e, "e2e-label-limited"), await createRun(e2e, "e2e-label-limited")];
    const sampler = startSampler(async () => {
      const { rows } = await e2e.db.pool.query(
        `select count(*) filter (where state = 'Running')::int as running,
                count(*) filter (where state in ('Submitted', 'Running'))::int as taken
         from flow_run where id = any($1)`,
        [ids],
      );
      return rows[0] as { running: number; taken: number };
    }, 20);
    let most: { running: number; taken: number } | undefined;
    await e2e.core.startAgent({ labels: ["e2e-gpu"], hostnameLabel: false });
    await e2e.core.startAgent({ labels: ["e2e-gpu"], hostnameLabel: false });
    try {
      for (const id of ids) expect((await waitForFinished(e2e, id, 180_000)).state).toBe("Success");
    } finally {
      ({ most } = await sampler.stop());
    }
    expect(most.running).toBe(1);
    // the poll counted the submitted runs and its own claims: no second run was handed out while one held the slot
    expect(most.taken).toBe(1);
    await e2e.core.stopAgents();
  });

  test("a flow run started over its label's limit waits (Core's flow runner, on QUEUED) and runs once the slot frees", async () => {
    const [holder, waiter] = [await createRun(e2e, "e2e-label-limited"), await createRun(e2e, "e2e-label-limited")];
    const setState = (id: string, type: string) =>
      e2e.graphql("mutation($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { status } } }", {
        input: { states: [{ flow_run_id: id, state: { type, message: "set by the test" } }] },
      });
    await setState(holder, "Running");
    const { flow_run_by_pk: run } = await e2e.graphql("query($id: uuid!) { flow_run_by_pk(id: $id) { flow_id } }", { id: waiter });
    const execution = e2e.core.prefect(["execute", "flow-run"], {
      timeoutMs: 120_000,
      env: {
        PREFECT__CONTEXT__FLOW_RUN_ID: waiter,
        PREFECT__CONTEXT__FLOW_ID: run.flow_id,
        PREFECT__CLOUD__QUEUE_INTERVAL: "1",
        PREFECT__ENGINE__FLOW_RUNNER__DEFAULT_CLASS: "prefect.engine.cloud.CloudFlowRunner",
        PREFECT__LOGGING__LEVEL: "DEBUG",
      },
    });
    // it asked to start and was answered QUEUED: still not running a few rounds later
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const { rows } = await e2e.db.pool.query("select state from flow_run_state where flow_run_id = $1 order by version", [waiter]);
    expect(rows.map((row) => row.state)).toEqual(["Scheduled"]);
    await setState(holder, "Success");
    const done = await execution;
    expect((await waitForFinished(e2e, waiter, 60_000)).state, done.output.slice(-3000)).toBe("Success");
    expect(done.output).toContain("Flow run is in a Queued state");
  });
});
