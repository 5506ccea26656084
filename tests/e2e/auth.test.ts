/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Basic auth on the gateway (services.gateway.auth_string), with Core 1.4.1 sending the credentials the only way it
// can in server mode: in the endpoint URL (docs/using-prefect-core.md). The server runs as one process here
// (`services all`, what `start --single-process` runs), so the file also covers that layout: Core's whole round trip
// through the in-process gateway, and the towel's loops beside it.
import { describe, expect, test } from "vitest";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, flowRunDetailsWithLogs, messages, register, waitForState } from "./helpers/runs.ts";

const USER = "e2e";
const PASSWORD = "s3cret:with@odd/chars";
const e2e = useE2E({ gatewayMode: "single_process", authString: `${USER}:${PASSWORD}` });

describe("basic auth with Prefect Core", { timeout: 240_000 }, () => {
  test("without credentials Core is refused (HTTP 401)", async () => {
    const endpoint = new URL(e2e.url);
    const refused = await e2e.core.prefect(["server", "create-tenant", "--name", "default"], {
      env: { PREFECT__SERVER__ENDPOINT: endpoint.origin },
    });
    expect(refused.code).not.toBe(0);
    // Core raises on the status before it reads the body, so the user sees requests' HTTPError
    expect(refused.output).toContain("401 Client Error: Unauthorized");
    const { status } = await fetch(e2e.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ hello }" }),
    });
    expect(status).toBe(401);
  });

  test("with credentials in the endpoint URL: register, agent, flow run, logs", async () => {
    // the harness's Core environment has PREFECT__SERVER__ENDPOINT=http://e2e:<percent-encoded password>@127.0.0.1:<port>
    expect(e2e.core.env.PREFECT__SERVER__ENDPOINT).toContain(`${USER}:${encodeURIComponent(PASSWORD)}@`);
    await createTenantAndProject(e2e);
    await register(e2e, flowFile("simple.py"), "e2e-simple");
    await e2e.core.startAgent();
    const id = await createRun(e2e, "e2e-simple");
    // the agent hands PREFECT__CLOUD__API (with the credentials) to the flow-run process, which reports through it
    await waitForState(e2e, id, "Success", 120_000);
    const run = await flowRunDetailsWithLogs(e2e, id, ["e2e says: HELLO FROM THE E2E SUITE"]);
    expect(run.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
    expect(messages(run)).toContain("e2e says: HELLO FROM THE E2E SUITE");
  });

  test("the towel runs in the same process: its Scheduler adds the runs of a schedule as time passes", async () => {
    expect(Object.keys(e2e.server.services)).toEqual(["all"]);
    const flowId = await register(e2e, flowFile("scheduled.py"), "e2e-scheduled");
    const scheduledTimes = async () => {
      const { flow_run } = await e2e.graphql(`query ($flow: uuid!) { flow_run(where: { flow_id: { _eq: $flow } }) { scheduled_start_time } }`, {
        flow: flowId,
      });
      return (flow_run as any[]).map((run) => Date.parse(run.scheduled_start_time));
    };
    const latestAtRegistration = Math.max(...(await scheduledTimes()));
    // every 10 s an event passes (the agent of the test above runs it) and the Scheduler, every second in debug mode,
    // schedules the next one
    await e2e.waitFor("the towel's Scheduler to schedule a run beyond those of the registration", async (seen) => {
      const times = await scheduledTimes();
      seen(`${times.length} runs, latest ${new Date(Math.max(...times)).toISOString()}`);
      return Math.max(...times) > latestAtRegistration;
    }, 90_000);
    const log = await e2e.server.services.all!.output();
    expect(log).toContain('"name":"prefect-server.Scheduler"');
    expect(log).toContain('"msg":"the server runs in one process"');
  });
});
