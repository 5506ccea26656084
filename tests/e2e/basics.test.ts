/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Prefect Core 1.4.1 end to end, the basics: a tenant, a project, registering a flow, an agent running it to
// Success, its states and logs through the API; the `prefect get` commands.
import { hostname } from "node:os";
import { describe, expect, test } from "vitest";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { flowRunDetails, flowRunDetailsWithLogs, flowRunIdFrom, parseTable, runsInQueue } from "./helpers/runs.ts";

const e2e = useE2E();

describe("Prefect Core against the server", { timeout: 240_000 }, () => {
  let tenantId: string;

  test("prefect server create-tenant creates the tenant Core then discovers", async () => {
    const output = await e2e.core.prefectOk(["server", "create-tenant", "--name", "default"]);
    const { tenant } = await e2e.graphql("{ tenant { id name slug } }");
    expect(tenant).toHaveLength(1);
    expect(tenant[0]).toMatchObject({ name: "default", slug: "default" });
    tenantId = tenant[0].id;
    expect(output).toContain(tenantId);
  });

  test("prefect create project", async () => {
    const output = await e2e.core.prefectOk(["create", "project", "e2e", "--description", "end-to-end tests"]);
    expect(output).toContain("e2e created");
    const { project } = await e2e.graphql("{ project { name description tenant_id } }");
    expect(project).toEqual([{ name: "e2e", description: "end-to-end tests", tenant_id: tenantId }]);
    // again with --skip-if-exists: Core reads "Uniqueness violation." and looks the project up
    const again = await e2e.core.prefectOk(["create", "project", "e2e", "--skip-if-exists"]);
    expect(again).toContain("e2e already exists");
  });

  test("prefect register stores the flow, its tasks and edges", async () => {
    const output = await e2e.core.prefectOk(["register", "-p", flowFile("simple.py"), "--project", "e2e"]);
    expect(output).toMatch(/Registering 'e2e-simple'.*Done/s);
    const { flow } = await e2e.graphql(`{
      flow(where: { name: { _eq: "e2e-simple" } }) {
        name version archived core_version project { name }
        tasks(order_by: { name: asc }) { name slug }
        edges { upstream_task { name } downstream_task { name } }
        flow_group { labels }
        run_config storage
      }
    }`);
    expect(flow).toHaveLength(1);
    expect(flow[0]).toMatchObject({ name: "e2e-simple", version: 1, archived: false, core_version: "1.4.1", project: { name: "e2e" } });
    expect(flow[0].tasks.map((t: any) => t.name)).toEqual(["greeting", "length", "shout"]);
    expect(flow[0].edges.map((e: any) => `${e.upstream_task.name}->${e.downstream_task.name}`).sort()).toEqual([
      "greeting->shout",
      "shout->length",
    ]);
    // script-based Local storage, labelled with this machine's hostname
    expect(flow[0].storage).toMatchObject({ type: "Local", stored_as_script: true, path: flowFile("simple.py") });
    expect(flow[0].run_config.labels).toEqual([hostname()]);

    // registering the unchanged file again is a no-op (Core's idempotency key)
    const again = await e2e.core.prefectOk(["register", "-p", flowFile("simple.py"), "--project", "e2e"]);
    expect(again).toMatch(/Skipped \(metadata unchanged\)/);
    const { flow: versions } = await e2e.graphql(`{ flow(where: { name: { _eq: "e2e-simple" } }) { version } }`);
    expect(versions).toEqual([{ version: 1 }]);
  });

  test("an agent runs the flow to Success; states and logs are readable", async () => {
    const agent = await e2e.core.startAgent();
    const output = await e2e.core.prefectOk(["run", "--name", "e2e-simple", "--project", "e2e", "--watch"], { timeoutMs: 180_000 });
    const runId = flowRunIdFrom(output);
    // prefect run --watch streams the run's logs from flow_run { logs } (#35) and reports the end
    expect(output).toContain("e2e says: HELLO FROM THE E2E SUITE");
    expect(output).toMatch(/Flow run succeeded!/);

    const run = await flowRunDetailsWithLogs(e2e, runId, ["Flow run SUCCESS: all reference tasks succeeded"]);
    expect(run.state).toBe("Success");
    expect(run.states.map((s: any) => s.state)).toEqual(["Scheduled", "Submitted", "Running", "Success"]);
    expect(run.start_time).not.toBeNull();
    expect(run.end_time).not.toBeNull();
    expect(run.agent.name).toBe(agent.name);
    expect(run.task_runs.map((t: any) => [t.task.name, t.map_index, t.state])).toEqual([
      ["greeting", -1, "Success"],
      ["length", -1, "Success"],
      ["shout", -1, "Success"],
    ]);
    for (const taskRun of run.task_runs) {
      expect(taskRun.states.map((s: any) => s.state)).toEqual(["Pending", "Running", "Success"]);
    }
    // the flow's own log line, written by Core's CloudHandler through write_run_logs, with its task run
    const shout = run.task_runs.find((t: any) => t.task.name === "shout");
    expect(run.logs).toContainEqual(
      expect.objectContaining({ message: "e2e says: HELLO FROM THE E2E SUITE", level: "INFO", task_run_id: shout.id }),
    );
    // the agent's own line about the submission
    expect(run.logs.some((log: any) => /Submitted for execution/.test(log.message))).toBe(true);
    // and the engine's
    expect(run.logs.some((log: any) => log.message.includes("Flow run SUCCESS: all reference tasks succeeded"))).toBe(true);
  });

  test("parameters: a run without a required parameter is refused; given ones reach the flow", async () => {
    await e2e.core.prefectOk(["register", "-p", flowFile("parameters.py"), "--project", "e2e"]);
    const refused = await e2e.core.prefect(["run", "--name", "e2e-parameters", "--project", "e2e"]);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain("Required parameters were not supplied");
    expect(refused.output).toContain("who");
    const { flow_run: none } = await e2e.graphql(`{ flow_run(where: { flow: { name: { _eq: "e2e-parameters" } } }) { id } }`);
    expect(none).toEqual([]);

    const output = await e2e.core.prefectOk(
      ["run", "--name", "e2e-parameters", "--project", "e2e", "--param", "who=world", "--watch"],
      { timeoutMs: 180_000 },
    );
    const run = await flowRunDetailsWithLogs(e2e, flowRunIdFrom(output), ["e2e greets world!"]);
    expect(run.state).toBe("Success");
    // the flow's default for the optional parameter is filled in by the server
    expect(run.parameters).toEqual({ who: "world", punctuation: "!" });
    expect(run.logs.map((log: any) => log.message)).toContain("e2e greets world!");
  });

  test("labels: a labelled run goes to the agent with that label only; a run no agent matches stays Scheduled", async () => {
    await e2e.core.prefectOk(["register", "-p", flowFile("labelled.py"), "--project", "e2e"]);
    // agents now: the one with the hostname label (previous tests) and this one
    const special = await e2e.core.startAgent({ labels: ["e2e-special"], hostnameLabel: false });
    const { agent: agents } = await e2e.graphql(`{ agent(order_by: { name: asc }) { name labels } }`);
    expect(agents).toHaveLength(2);
    expect(agents.find((a: any) => a.name === special.name).labels).toEqual(["e2e-special"]);
    expect(agents.find((a: any) => a.name !== special.name).labels).toEqual([hostname()]);

    const output = await e2e.core.prefectOk(["run", "--name", "e2e-labelled", "--project", "e2e", "--watch"], { timeoutMs: 180_000 });
    const run = await flowRunDetails(e2e, flowRunIdFrom(output));
    expect(run.state).toBe("Success");
    expect(run.labels).toEqual(["e2e-special"]);
    expect(run.agent.name).toBe(special.name);

    // a run labelled for no agent: the queue offers it to an agent with exactly that label only, and both agents
    // poll past it
    const quiet = await e2e.core.prefectOk(["run", "--name", "e2e-labelled", "--project", "e2e", "--label", "e2e-nowhere", "--quiet"]);
    const strandedId = flowRunIdFrom(quiet);
    const { flow_run_by_pk: stranded } = await e2e.graphql(`query ($id: uuid!) { flow_run_by_pk(id: $id) { labels created } }`, {
      id: strandedId,
    });
    expect(stranded.labels).toEqual(["e2e-nowhere"]);
    expect(await runsInQueue(e2e, [hostname()])).not.toContain(strandedId);
    expect(await runsInQueue(e2e, ["e2e-special"])).not.toContain(strandedId);
    expect(await runsInQueue(e2e, [])).not.toContain(strandedId);
    expect(await runsInQueue(e2e, ["e2e-nowhere", "e2e-special"])).toContain(strandedId);
    await e2e.waitFor(
      `both agents to poll the queue after ${stranded.created}`,
      async (seen) => {
        const { agent } = await e2e.graphql(`{ agent { name last_queried } }`);
        seen(agent);
        return agent.every((a: any) => a.last_queried && Date.parse(a.last_queried) > Date.parse(stranded.created) + 1_000);
      },
      60_000,
    );
    const after = await flowRunDetails(e2e, strandedId);
    expect(after.state).toBe("Scheduled");
    expect(after.agent).toBeNull();
    const { cancel_flow_run: cancelled } = await e2e.graphql(
      `mutation ($input: cancel_flow_run_input!) { cancel_flow_run(input: $input) { state } }`,
      { input: { flow_run_id: strandedId } },
    );
    expect(cancelled.state).toBe("Cancelled");
  });

  test("prefect get flows / projects / flow-runs print the right rows", async () => {
    const { flow } = await e2e.graphql(`{ flow(order_by: { name: asc }) { id name } }`);
    const flows = parseTable(await e2e.core.prefectOk(["get", "flows"]));
    expect(flows.map(({ AGE: _age, ...row }) => row)).toEqual(
      flow.map((f: any) => ({ NAME: f.name, VERSION: "1", ID: f.id, "PROJECT NAME": "e2e" })),
    );

    const projects = parseTable(await e2e.core.prefectOk(["get", "projects"]));
    expect(projects.map(({ AGE: _age, ...row }) => row)).toEqual([
      { NAME: "e2e", "FLOW COUNT": "3", DESCRIPTION: "end-to-end tests" },
    ]);

    // newest first: the cancelled run, the labelled run, the parameters run, the simple run
    const { flow_run } = await e2e.graphql(`{ flow_run(order_by: { created: desc }) { id name state flow { name } } }`);
    expect(flow_run.map((r: any) => r.state)).toEqual(["Cancelled", "Success", "Success", "Success"]);
    const runs = parseTable(await e2e.core.prefectOk(["get", "flow-runs"]));
    expect(runs.map((row) => [row.NAME, row["FLOW NAME"], row.STATE, row.ID])).toEqual(
      flow_run.map((r: any) => [r.name, r.flow.name, r.state, r.id]),
    );
    // --flow filters as the server is asked to
    const simpleRuns = parseTable(await e2e.core.prefectOk(["get", "flow-runs", "--flow", "e2e-simple"]));
    expect(simpleRuns.map((row) => row["FLOW NAME"])).toEqual(["e2e-simple"]);
  });
});

