/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Core's engine features against the server, each through a LocalAgent: mapping over 100 items, retries, caching,
// and pausing for a manual approval until a Resume state arrives.
import { hostname } from "node:os";
import { beforeAll, describe, expect, test } from "vitest";
import { flowFile, useE2E } from "./helpers/harness.ts";
import {
  createRun,
  createTenantAndProject,
  flowRunDetails,
  flowRunDetailsWithLogs,
  messages,
  register,
  runsInQueue,
  waitForFinished,
  waitForState,
} from "./helpers/runs.ts";

const e2e = useE2E();

describe("Core's engine through the server", { timeout: 240_000 }, () => {
  beforeAll(async () => {
    await createTenantAndProject(e2e);
    await e2e.core.startAgent();
  }, 120_000);

  test("a mapped task with 100 children: every child succeeds, mapped_children counts them", async () => {
    await register(e2e, flowFile("mapped.py"), "e2e-mapped");
    const run = await waitForFinished(e2e, await createRun(e2e, "e2e-mapped"), 180_000, ["e2e total: 10100 of 100 values"]);
    expect(run.state).toBe("Success");
    const byTask = (name: string) => run.task_runs.filter((t: any) => t.task.name === name);

    const [parent, ...children] = byTask("double");
    expect(parent).toMatchObject({ map_index: -1, state: "Mapped" });
    expect(children.map((child: any) => child.map_index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(children.filter((child: any) => child.state !== "Success")).toEqual([]);
    expect(byTask("numbers").map((t: any) => t.state)).toEqual(["Success"]);
    expect(byTask("total").map((t: any) => t.state)).toEqual(["Success"]);
    expect(messages(run)).toContain("e2e total: 10100 of 100 values");

    const { mapped_children: mapped } = await e2e.graphql(
      `query ($id: UUID!) { mapped_children(task_run_id: $id) { state_counts min_start_time max_end_time } }`,
      { id: parent.id },
    );
    expect(mapped.state_counts).toEqual({ Success: 100 });
    expect(Date.parse(mapped.min_start_time)).toBeLessThanOrEqual(Date.parse(mapped.max_end_time));
    expect(Date.parse(mapped.min_start_time)).toBeGreaterThanOrEqual(Date.parse(run.start_time));
    expect(Date.parse(mapped.max_end_time)).toBeLessThanOrEqual(Date.parse(run.end_time));
    // a child has no children of its own
    const { mapped_children: none } = await e2e.graphql(
      `query ($id: UUID!) { mapped_children(task_run_id: $id) { state_counts min_start_time max_end_time } }`,
      { id: children[0].id },
    );
    expect(none).toEqual({ state_counts: {}, min_start_time: null, max_end_time: null });
  });

  test("retries: a task failing once goes Retrying, then succeeds", async () => {
    await register(e2e, flowFile("retries.py"), "e2e-retries");
    const run = await waitForFinished(e2e, await createRun(e2e, "e2e-retries"), 180_000, ["e2e succeeded on attempt 2"]);
    expect(run.state).toBe("Success");
    const flaky = run.task_runs.find((t: any) => t.task.name === "flaky");
    expect(flaky.state).toBe("Success");
    // Core reports the failure, then the retry (start time retry_delay ahead), then runs the task again in the
    // same process once the delay has passed
    expect(flaky.states.map((s: any) => s.state)).toEqual(["Pending", "Running", "Failed", "Retrying", "Running", "Success"]);
    expect(flaky.states.find((s: any) => s.state === "Retrying").message).toMatch(/Retrying Task \(after attempt 1 of 3\)/);
    expect(messages(run)).toEqual(expect.arrayContaining(["e2e flaky attempt 1", "e2e flaky attempt 2", "e2e succeeded on attempt 2"]));
  });

  test("caching: a task with cache_for is Cached on the second run and not computed again", async () => {
    await register(e2e, flowFile("cached.py"), "e2e-cached");
    const first = await waitForFinished(e2e, await createRun(e2e, "e2e-cached"), 180_000, ["e2e the value is 42"]);
    expect(first.state).toBe("Success");
    expect(messages(first)).toEqual(expect.arrayContaining(["e2e computing the expensive value", "e2e the value is 42"]));

    const second = await waitForFinished(e2e, await createRun(e2e, "e2e-cached"), 180_000, ["e2e the value is 42"]);
    expect(second.state).toBe("Success");
    const expensive = second.task_runs.find((t: any) => t.task.name === "expensive");
    expect(expensive.state).toBe("Cached");
    // found in the cache before it would have run: never Running in this run
    expect(expensive.states.map((s: any) => s.state)).not.toContain("Running");
    expect(messages(second)).not.toContain("e2e computing the expensive value");
    expect(messages(second)).toContain("e2e the value is 42");
  });

  test("pause and resume: a manual_only task pauses the run until a Resume state is set", async () => {
    await register(e2e, flowFile("pause.py"), "e2e-pause");
    const id = await createRun(e2e, "e2e-pause");
    const approve = await e2e.waitFor(
      "the approval task run to pause",
      async (seen) => {
        const run = await flowRunDetails(e2e, id);
        const task = run.task_runs.find((t: any) => t.task.name === "approve");
        seen({ run: run.state, approve: task?.state });
        return task?.state === "Paused" ? task : undefined;
      },
      120_000,
    );
    // the engine stops there, leaving the flow run Running; the queue must not offer the run while the task waits
    expect(await runsInQueue(e2e, [hostname()])).not.toContain(id);
    const paused = await flowRunDetails(e2e, id);
    expect(paused.state).toBe("Running");
    expect(paused.task_runs.map((t: any) => [t.task.name, t.state])).toEqual([
      ["approve", "Paused"],
      ["finish", "Pending"],
      ["prepare", "Success"],
    ]);
    expect(paused.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running"]);

    // resume it with Core's client: set_task_run_states with a Resume state
    await e2e.core.python(
      [
        "import sys",
        "from prefect import Client",
        "from prefect.engine.state import Resume",
        "Client().set_task_run_state(sys.argv[1], Resume('approved by the e2e suite'))",
      ].join("\n"),
      [approve.id],
    );
    // with the task run in Resume (start time now) the Running flow run is back in the queue, and the agent runs it
    await waitForState(e2e, id, "Success", 120_000);
    const done = await flowRunDetailsWithLogs(e2e, id, ["e2e finished after approval"]);
    const approved = done.task_runs.find((t: any) => t.task.name === "approve");
    expect(approved.state).toBe("Success");
    expect(approved.states.map((s: any) => s.state)).toEqual(expect.arrayContaining(["Paused", "Resume", "Success"]));
    expect(messages(done)).toEqual(expect.arrayContaining(["e2e approved: prepared", "e2e finished after approval"]));
  });
});
