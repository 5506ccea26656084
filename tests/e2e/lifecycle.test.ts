/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// A run's life outside the happy path: cancelled while it works, and runs that nobody creates by hand (a schedule,
// kept topped up by the towel's Scheduler, executed by the agent).
import { beforeAll, describe, expect, test } from "vitest";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, flowRunDetails, messages, register, waitForState } from "./helpers/runs.ts";

const e2e = useE2E();

describe("cancellation and schedules", { timeout: 240_000 }, () => {
  beforeAll(async () => {
    await createTenantAndProject(e2e);
    await e2e.core.startAgent();
  }, 120_000);

  test("cancel_flow_run on a running run: Cancelling, then Cancelled, its unfinished task runs Cancelled", async () => {
    await register(e2e, flowFile("slow.py"), "e2e-slow");
    const id = await createRun(e2e, "e2e-slow");
    await e2e.waitFor(
      "the long task to be running",
      async (seen) => {
        const run = await flowRunDetails(e2e, id);
        seen({ state: run.state, tasks: run.task_runs.map((t: any) => [t.task.name, t.state]), logs: messages(run).slice(-3) });
        return run.task_runs.some((t: any) => t.task.name === "long_work" && t.state === "Running");
      },
      120_000,
    );

    // Core's client, as `prefect run`'s Ctrl-C and the CancelFlowRun task do it
    const answer = await e2e.core.python(
      "import sys\nfrom prefect import Client\nprint('state:', Client().cancel_flow_run(sys.argv[1]))",
      [id],
    );
    // a running run is asked to cancel itself; Core's CloudFlowRunner notices (every second here) and stops
    expect(answer).toContain("state: Cancelling");
    await waitForState(e2e, id, "Cancelled", 60_000);

    const run = await flowRunDetails(e2e, id);
    expect(run.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Cancelling", "Cancelled"]);
    expect(run.states.find((s: any) => s.state === "Cancelling").message).toBe("Flow run is cancelling");
    expect(run.end_time).not.toBeNull();
    expect(run.task_runs.map((t: any) => [t.task.name, t.state])).toEqual([
      ["afterwards", "Cancelled"],
      ["long_work", "Cancelled"],
    ]);
    expect(messages(run)).not.toContain("e2e afterwards ran");

    // cancelling a finished run changes nothing
    const { cancel_flow_run: again } = await e2e.graphql(
      `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`,
      { input: { flow_run_id: id } },
    );
    expect(again.state).toBe("Cancelled");
    expect((await flowRunDetails(e2e, id)).version).toBe(run.version);
  });

  test("a schedule: registration schedules 10 runs, the towel keeps 10 ahead, the agent runs them", async () => {
    const flowId = await register(e2e, flowFile("scheduled.py"), "e2e-scheduled");
    const autoRuns = async () => {
      const { flow_run } = await e2e.graphql(
        `query ($flow: uuid!) {
          flow_run(where: { flow_id: { _eq: $flow } }, order_by: { scheduled_start_time: asc }) {
            id state auto_scheduled scheduled_start_time created
          }
        }`,
        { flow: flowId },
      );
      return flow_run as any[];
    };
    const { flow_by_pk: flow } = await e2e.graphql(`query ($id: uuid!) { flow_by_pk(id: $id) { is_schedule_active schedule } }`, {
      id: flowId,
    });
    expect(flow.is_schedule_active).toBe(true);
    expect(flow.schedule.clocks).toEqual([expect.objectContaining({ type: "CronClock", cron: "* * * * * */10" })]);

    const initial = await autoRuns();
    expect(initial.length).toBeGreaterThanOrEqual(10);
    expect(initial.every((run) => run.auto_scheduled)).toBe(true);
    const firstCreated = Math.min(...initial.map((run) => Date.parse(run.created)));

    // as events pass, the towel's Scheduler adds the next ones (the agent runs them meanwhile)
    const runs = await e2e.waitFor(
      "the towel to schedule runs beyond the first ten and the agent to finish two",
      async (seen) => {
        const all = await autoRuns();
        const added = all.filter((run) => Date.parse(run.created) > firstCreated + 5_000);
        const succeeded = all.filter((run) => run.state === "Success");
        seen({ runs: all.length, added: added.length, succeeded: succeeded.length, states: all.map((run) => run.state) });
        return added.length >= 1 && succeeded.length >= 2 ? all : undefined;
      },
      120_000,
    );
    expect(runs.every((run) => run.auto_scheduled)).toBe(true);
    // every 10 seconds on the clock, none twice
    const starts = runs.map((run) => Date.parse(run.scheduled_start_time));
    expect(new Set(starts).size).toBe(starts.length);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(10_000);
    expect(starts.every((start) => start % 10_000 === 0)).toBe(true);
    // it was the towel's Scheduler that created them
    const towelLog = await e2e.server.services.towel!.output();
    const created = towelLog
      .split("\n")
      .filter((line) => line.includes('"name":"prefect-server.Scheduler"'))
      .map((line) => JSON.parse(line).runs_created ?? 0)
      .reduce((sum: number, n: number) => sum + n, 0);
    expect(created).toBeGreaterThanOrEqual(1);

    const succeeded = runs.filter((run) => run.state === "Success");
    const details = await flowRunDetails(e2e, succeeded[0].id);
    expect(details.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
    expect(messages(details).some((message) => message.startsWith("e2e tick scheduled for"))).toBe(true);

    // switched off: right after the mutation, none of its auto-scheduled runs is left in Scheduled
    await e2e.graphql(`mutation ($input: set_schedule_inactive_input!) { set_schedule_inactive(input: $input) { success } }`, {
      input: { flow_id: flowId },
    });
    const remaining = await autoRuns();
    expect(remaining.filter((run) => run.state === "Scheduled")).toEqual([]);
  });
});
