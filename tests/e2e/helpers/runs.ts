/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Reading flow runs back through the API (the gateway), as the UI would, to check what Core did.
import type { E2E } from "./harness.ts";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The flow run id in the output of `prefect run` ("└── UUID: …") or of `prefect run --quiet` (the id alone). */
export function flowRunIdFrom(output: string): string {
  const match = /UUID: (\S+)/.exec(output) ?? new RegExp(`^(${UUID.source})$`, "m").exec(output);
  if (!match) throw new Error(`no flow run id in:\n${output}`);
  return match[1]!;
}

/** Everything the tests check about one run: states in order, task runs with their states, logs, its agent. */
export async function flowRunDetails(e2e: E2E, id: string): Promise<any> {
  const { flow_run_by_pk: run } = await e2e.graphql(
    `query ($id: uuid!) {
      flow_run_by_pk(id: $id) {
        id name state state_message version parameters labels start_time end_time heartbeat times_resurrected
        auto_scheduled scheduled_start_time
        agent { id name labels }
        flow { name version }
        states(order_by: [{ timestamp: asc }, { version: asc }]) { state message version timestamp }
        task_runs(order_by: [{ task: { name: asc } }, { map_index: asc }]) {
          id map_index state state_message version
          task { name slug }
          states(order_by: [{ timestamp: asc }, { version: asc }]) { state message version }
        }
        logs(order_by: { timestamp: asc }) { message level name task_run_id timestamp }
      }
    }`,
    { id },
  );
  if (!run) throw new Error(`flow run ${id} not found`);
  return run;
}

export const FINISHED_STATES = ["Success", "Failed", "Cancelled", "TriggerFailed", "TimedOut", "Skipped", "Cached", "Mapped"];

/** Waits until the run is in `state` (default: any finished state); fails with its details otherwise. */
export async function waitForState(e2e: E2E, id: string, state?: string, timeoutMs = 120_000): Promise<any> {
  return e2e.waitFor(
    `flow run ${id} to reach ${state ?? "a finished state"}`,
    async (seen) => {
      const { flow_run_by_pk: run } = await e2e.graphql(
        `query ($id: uuid!) { flow_run_by_pk(id: $id) { state state_message } }`,
        { id },
      );
      seen(run);
      if (run && (state ? run.state === state : FINISHED_STATES.includes(run.state))) return run;
      return undefined;
    },
    timeoutMs,
  );
}

/** Waits until the run is finished and returns its details. */
export async function waitForFinished(e2e: E2E, id: string, timeoutMs = 120_000, logged: string[] = []): Promise<any> {
  await waitForState(e2e, id, undefined, timeoutMs);
  return flowRunDetailsWithLogs(e2e, id, logged);
}

/**
 * The run's details once its logs hold every message of `logged`. Core's log handler sends its last batch as the
 * flow-run process exits, so a run's final logs can arrive a moment after its final state.
 */
export async function flowRunDetailsWithLogs(e2e: E2E, id: string, logged: string[], timeoutMs = 30_000): Promise<any> {
  return e2e.waitFor(
    `the logs of flow run ${id} to include ${JSON.stringify(logged)}`,
    async (seen) => {
      const run = await flowRunDetails(e2e, id);
      seen(messages(run).slice(-5));
      return logged.every((message) => messages(run).includes(message)) ? run : undefined;
    },
    timeoutMs,
  );
}

/**
 * The rows of a table Core's `prefect get …` prints (tabulate's "plain" format: a header line of column names,
 * which may hold single spaces, set apart by two or more; then one line per row), keyed by column name.
 */
export function parseTable(output: string): Record<string, string>[] {
  const lines = output.split("\n").map((line) => line.trimEnd());
  const headerIndex = lines.findIndex((line) => line.startsWith("NAME"));
  if (headerIndex < 0) throw new Error(`no table with a NAME column in:\n${output}`);
  const header = lines[headerIndex]!;
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((match) => ({ name: match[0], start: match.index }));
  return lines
    .slice(headerIndex + 1)
    .filter((line) => line.trim() !== "")
    .map((line) =>
      Object.fromEntries(
        columns.map((column, i) => [column.name, line.slice(column.start, columns[i + 1]?.start ?? line.length).trim()]),
      ),
    );
}

/** The tenant (`prefect server create-tenant`) and a project (`prefect create project`) every file starts with. */
export async function createTenantAndProject(e2e: E2E, project = "e2e"): Promise<void> {
  await e2e.core.prefectOk(["server", "create-tenant", "--name", "default"]);
  await e2e.core.prefectOk(["create", "project", project]);
}

/** `prefect register -p <file> --project <project>`; resolves with the new flow's id. */
export async function register(e2e: E2E, file: string, flowName: string, project = "e2e"): Promise<string> {
  await e2e.core.prefectOk(["register", "-p", file, "--project", project]);
  const { flow } = await e2e.graphql(
    `query ($name: String!) { flow(where: { name: { _eq: $name }, archived: { _eq: false } }) { id } }`,
    { name: flowName },
  );
  if (flow.length !== 1) throw new Error(`expected one unarchived flow ${flowName}, found ${JSON.stringify(flow)}`);
  return flow[0].id;
}

/** `prefect run --name <flow> --project <project> --quiet …`: creates a run for an agent; resolves with its id. */
export async function createRun(e2e: E2E, flowName: string, project = "e2e"): Promise<string> {
  return flowRunIdFrom(await e2e.core.prefectOk(["run", "--name", flowName, "--project", project, "--quiet"]));
}

/** The messages of a run's logs. */
export function messages(run: any): string[] {
  return run.logs.map((log: any) => log.message);
}

/** The runs the server would hand an agent with `labels` right now (get_runs_in_queue, as Core's agent asks). */
export async function runsInQueue(e2e: E2E, labels: string[]): Promise<string[]> {
  const { tenant } = await e2e.graphql(`{ tenant { id } }`);
  const { get_runs_in_queue: queue } = await e2e.graphql(
    `mutation ($input: get_runs_in_queue_input!) { get_runs_in_queue(input: $input) { flow_run_ids } }`,
    { input: { tenant_id: tenant[0].id, labels, before: new Date(Date.now() + 10_000).toISOString() } },
  );
  return queue.flow_run_ids;
}
