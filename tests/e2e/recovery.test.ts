/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// An agent dies with two runs in flight (SIGKILL to it and to the flow-run processes it started: a machine going
// away). The towel's ZombieKiller and Lazarus recover them as docs/v1-compatibility.md ("The towel") says: the run
// whose task has a retry left through a Retrying task run, the other through Lazarus.
//
// Their cutoff is a flow-run heartbeat older than 10 minutes, fixed by the spec (not a setting). Rather than wait
// ten minutes, the test moves the dead run's heartbeat an hour back in the database once the processes are gone
// (again on every poll, in case a heartbeat request was still in flight when they died). Everything else is real:
// the towel runs its loops every second (PREFECT__LOOP_SERVICE__DEBUG_MODE), and new agents pick the run up.
import { beforeAll, describe, expect, test } from "vitest";
import { flowFile, useE2E, type E2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, flowRunDetails, flowRunDetailsWithLogs, messages, register, waitForState } from "./helpers/runs.ts";

const e2e = useE2E();

/** Waits until the run's `task` is Running in a live process (its log line has arrived). */
async function waitUntilWorking(id: string, task: string, logLine: string): Promise<void> {
  await e2e.waitFor(
    `${task} to be running`,
    async (seen) => {
      const run = await flowRunDetails(e2e, id);
      const taskRun = run.task_runs.find((t: any) => t.task.name === task);
      seen({ run: run.state, task: taskRun?.state, logs: messages(run).slice(-3) });
      return taskRun?.state === "Running" && messages(run).some((message) => message.startsWith(logLine));
    },
    120_000,
  );
}

/** Makes the run's heartbeat an hour old: what ten minutes without a live process would do. */
async function staleHeartbeat(db: E2E["db"], id: string): Promise<void> {
  await db.pool.query("update flow_run set heartbeat = now() - interval '1 hour' where id = $1", [id]);
}

describe("an agent killed mid-run", { timeout: 240_000 }, () => {
  let fragileId: string;
  let doomedId: string;
  let crashedAgent: string;

  beforeAll(async () => {
    await createTenantAndProject(e2e);
    const fragileFlow = await register(e2e, flowFile("fragile.py"), "e2e-fragile");
    await register(e2e, flowFile("slow.py"), "e2e-slow");
    // Lazarus off for the fragile flow, through the API a user would use: it takes no part in that recovery. (Left
    // on, it may legitimately reschedule the run too — in the moment after the new agent has set the Retrying task
    // run Submitted, a state outside Lazarus's "active" set, and before the new flow-run process refreshes the
    // heartbeat — which would make the run's history depend on timing.)
    await e2e.graphql(
      `mutation ($input: disable_flow_lazarus_process_input!) { disable_flow_lazarus_process(input: $input) { success } }`,
      { input: { flow_id: fragileFlow } },
    );
    const agent = await e2e.core.startAgent();
    crashedAgent = agent.name;
    fragileId = await createRun(e2e, "e2e-fragile");
    doomedId = await createRun(e2e, "e2e-slow");
    await waitUntilWorking(fragileId, "work", "e2e fragile work, attempt 1");
    await waitUntilWorking(doomedId, "long_work", "e2e long work started");
    await agent.crash();
  }, 180_000);

  test("ZombieKiller: the running task with a retry left goes Retrying, and another agent finishes the run", async () => {
    const work = await e2e.waitFor(
      "the ZombieKiller to set the task run Retrying",
      async (seen) => {
        const run = await flowRunDetails(e2e, fragileId);
        const taskRun = run.task_runs.find((t: any) => t.task.name === "work");
        seen({ run: run.state, heartbeat: run.heartbeat, work: taskRun.state });
        if (taskRun.state === "Running") await staleHeartbeat(e2e.db, fragileId);
        return taskRun.state === "Retrying" ? { run, taskRun } : undefined;
      },
      60_000,
    );
    // v1's message (no space after "run."); the flow run is left Running
    expect(work.taskRun.state_message).toBe(
      "No heartbeat detected from the remote task; retrying the run.This will be retry 1 of 1.",
    );
    expect(work.run.state).toBe("Running");
    expect(work.run.logs).toContainEqual(
      expect.objectContaining({
        name: "prefect-server.ZombieKiller.TaskRun",
        level: "ERROR",
        task_run_id: work.taskRun.id,
        message: "No heartbeat detected from the remote task; retrying the run.This will be retry 1 of 1.",
      }),
    );
    // the other run's heartbeat is not stale yet: untouched
    const doomed = await flowRunDetails(e2e, doomedId);
    expect(doomed.task_runs.find((t: any) => t.task.name === "long_work").state).toBe("Running");

    // the Running flow run with a due Retrying task run is back in the queue: a new agent runs the second attempt
    const rescuer = await e2e.core.startAgent();
    await waitForState(e2e, fragileId, "Success", 120_000);
    const run = await flowRunDetailsWithLogs(e2e, fragileId, ["e2e work done on attempt 2"]);
    // the rescuer ran it (the flow run was Running, so it wrote no Submitted state: agent_id still names the first)
    expect(await rescuer.process.output()).toContain(`Deploying flow run ${fragileId}`);
    expect(run.agent.name).toBe(crashedAgent);
    const taskRun = run.task_runs.find((t: any) => t.task.name === "work");
    expect(taskRun.state).toBe("Success");
    expect(taskRun.states.map((s: any) => s.state)).toEqual(["Pending", "Running", "Retrying", "Submitted", "Running", "Success"]);
    expect(messages(run)).toEqual(expect.arrayContaining(["e2e fragile work, attempt 2", "e2e work done on attempt 2"]));
    expect(run.times_resurrected).toBe(0);
    // the second process found the flow run Running and carried on: no new Running state
    expect(run.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
  });

  test("Lazarus: the run left without an active task is rescheduled and run again", async () => {
    // A real Lazarus acts on a run whose heartbeat is 10 minutes old; by then the 30 s lock that refuses a second
    // Submitted state for a run (docs/v1-compatibility.md, Writing states) has long expired. Let it expire before simulating the stale heartbeat,
    // or the rescheduled run's new Submitted state would be refused until it does.
    const submitted = (await flowRunDetails(e2e, doomedId)).states.find((s: any) => s.state === "Submitted");
    await new Promise((done) => setTimeout(done, Math.max(0, Date.parse(submitted.timestamp) + 31_000 - Date.now())));

    // no retries: the ZombieKiller fails the task; with no task run left active, Lazarus reschedules the run, and
    // the agent still running (the previous test's) takes it
    const rescheduled = await e2e.waitFor(
      "the ZombieKiller to fail the task and Lazarus to reschedule the run",
      async (seen) => {
        const run = await flowRunDetails(e2e, doomedId);
        seen({ run: run.state, times_resurrected: run.times_resurrected, tasks: run.task_runs.map((t: any) => [t.task.name, t.state]) });
        if (run.times_resurrected === 0 && run.state === "Running") await staleHeartbeat(e2e.db, doomedId);
        return run.times_resurrected === 1 ? run : undefined;
      },
      60_000,
    );
    const work = rescheduled.task_runs.find((t: any) => t.task.name === "long_work");
    expect(work.state).toBe("Failed");
    expect(work.state_message).toBe(`No heartbeat detected from the remote task; marking the task run ${work.id} (long_work) as failed.`);
    expect(rescheduled.states.find((s: any, i: number) => i > 0 && s.state === "Scheduled").message).toBe("Rescheduled by a Lazarus process.");
    expect(rescheduled.logs).toContainEqual(
      expect.objectContaining({
        name: "prefect-server.ZombieKiller.TaskRun",
        level: "ERROR",
        task_run_id: work.id,
        message: work.state_message,
      }),
    );
    expect(rescheduled.logs).toContainEqual(
      expect.objectContaining({
        name: "prefect-server.Lazarus.FlowRun",
        level: "INFO",
        message: "Rescheduled by a Lazarus process. This is attempt 1.",
      }),
    );

    // `long_work` stays Failed (Core does not rerun a finished task), so the downstream task's trigger fails and the run
    // ends Failed: recovered to a final state instead of hanging in Running
    await waitForState(e2e, doomedId, "Failed", 120_000);
    const run = await flowRunDetails(e2e, doomedId);
    expect(run.agent.name).not.toBe(crashedAgent);
    expect(run.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Scheduled", "Submitted", "Running", "Failed"]);
    expect(run.task_runs.map((t: any) => [t.task.name, t.state])).toEqual([
      ["afterwards", "TriggerFailed"],
      ["long_work", "Failed"],
    ]);
    expect(run.times_resurrected).toBe(1);
    expect(messages(run)).not.toContain("e2e afterwards ran");
  });
});
