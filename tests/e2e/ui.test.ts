/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// The Prefect UI's recovery buttons against a real agent: Restart of a failed run, Restart from one task run, Start
// now and Approve, each sent as the UI sends it (tests/ui/client.ts: bare states, batched, through the gateway), and
// each followed until Prefect Core's LocalAgent has run the flow run to Success.
import { beforeAll, describe, expect, test } from "vitest";
import { UiClient } from "../ui/client.ts";
import * as ui from "../ui/documents.ts";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, flowRunDetails, flowRunDetailsWithLogs, messages, register, waitForFinished, waitForState } from "./helpers/runs.ts";

const e2e = useE2E();
let client: UiClient;

const count = (run: any, message: string) => messages(run).filter((m) => m === message).length;
const taskStates = (run: any) => Object.fromEntries(run.task_runs.map((t: any) => [t.task.name, t.state]));

describe("the UI's buttons with a real agent", { timeout: 240_000 }, () => {
  beforeAll(async () => {
    client = new UiClient(e2e.url);
    await createTenantAndProject(e2e);
    await e2e.core.startAgent();
    await register(e2e, flowFile("restartable.py"), "e2e-restartable");
  }, 120_000);

  test("Restart of a failed run: the agent runs it again and it succeeds, without running what had succeeded", async () => {
    const id = await createRun(e2e, "e2e-restartable");
    const failed = await waitForFinished(e2e, id, 180_000, ["e2e flaky failed on its first run"]);
    expect(failed.state).toBe("Failed");
    expect(taskStates(failed)).toEqual({ prepare: "Success", flaky: "Failed", finish: "TriggerFailed" });

    await client.restartFlowRun(id);
    await waitForState(e2e, id, "Success", 180_000);
    const done = await flowRunDetailsWithLogs(e2e, id, ["e2e finish ran with prepared"]);
    expect(taskStates(done)).toEqual({ prepare: "Success", flaky: "Success", finish: "Success" });
    expect(count(done, "e2e prepare ran")).toBe(1);
    expect(count(done, "e2e flaky ran with prepared")).toBe(1);
    expect(messages(done)).toContain("Flow run restarted from the UI.");
    expect(done.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Failed", "Scheduled", "Submitted", "Running", "Success"]);

    // Restart from one task run of the finished run: that task and those downstream run again, upstream does not
    const flaky = done.task_runs.find((t: any) => t.task.name === "flaky");
    await client.restartTaskRun(flaky.id);
    expect((await flowRunDetails(e2e, id)).state).not.toBe("Success");
    await waitForState(e2e, id, "Success", 180_000);
    const again = await e2e.waitFor(
      "flaky and finish to have run a second time",
      async (seen) => {
        const run = await flowRunDetails(e2e, id);
        seen(messages(run).slice(-5));
        return count(run, "e2e finish ran with prepared") === 2 ? run : undefined;
      },
      30_000,
    );
    expect(count(again, "e2e flaky ran with prepared")).toBe(2);
    expect(count(again, "e2e prepare ran")).toBe(1);
    expect(taskStates(again)).toEqual({ prepare: "Success", flaky: "Success", finish: "Success" });
  });

  test("Start now on a run scheduled for later: the agent runs it at once", async () => {
    await register(e2e, flowFile("simple.py"), "e2e-simple");
    const { flow } = await e2e.graphql(`{ flow(where: {name: {_eq: "e2e-simple"}}) { id } }`);
    const { create_flow_run } = await client.one(ui.CREATE_FLOW_RUN, {
      flowId: flow[0].id,
      scheduledStartTime: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const id = create_flow_run.id;
    // the agent polls every few seconds and leaves a run due in an hour alone
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await flowRunDetails(e2e, id)).state).toBe("Scheduled");
    await client.startNow(id);
    const run = await waitForFinished(e2e, id, 120_000, ["e2e says: HELLO FROM THE E2E SUITE"]);
    expect(run.state).toBe("Success");
  });

  test("Approve on a paused manual_only task: the run continues and finishes", async () => {
    await register(e2e, flowFile("pause.py"), "e2e-pause");
    const id = await createRun(e2e, "e2e-pause");
    const approve = await e2e.waitFor(
      "the approval task run to pause",
      async (seen) => {
        const run = await flowRunDetails(e2e, id);
        const taskRun = run.task_runs.find((t: any) => t.task.name === "approve");
        seen({ run: run.state, approve: taskRun?.state });
        return taskRun?.state === "Paused" ? taskRun : undefined;
      },
      120_000,
    );
    await client.approve(approve.id);
    await waitForState(e2e, id, "Success", 120_000);
    const done = await flowRunDetailsWithLogs(e2e, id, ["e2e finished after approval"]);
    const approved = done.task_runs.find((t: any) => t.task.name === "approve");
    expect(approved.states.map((s: any) => s.state)).toEqual(expect.arrayContaining(["Paused", "Resume", "Success"]));
    expect(approved.states.find((s: any) => s.state === "Resume").message).toBe("Approved in the UI.");
  });
});
