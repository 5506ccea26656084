/* eslint-disable @typescript-eslint/no-explicit-any -- GraphQL results are read field by field */
// The Prefect UI v1 as the server sees it: its operations POSTed to `/graphql` as apollo-link-batch-http sends them
// (a JSON array of {operationName, variables, query}, answered by an array), with the headers the UI adds, and its
// buttons as the sequences of operations they send (docs/ui.md).
import { parse, type OperationDefinitionNode } from "graphql";
import * as ui from "./documents.ts";

export interface Operation {
  query: string;
  variables?: Record<string, unknown>;
}

export interface OperationResult {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

const operationName = (query: string): string | null =>
  (parse(query).definitions.find((d) => d.kind === "OperationDefinition") as OperationDefinitionNode).name?.value ?? null;

export class UiClient {
  readonly url: string;
  constructor(gatewayUrl: string) {
    this.url = `${gatewayUrl}/graphql`;
  }

  /** One batch, as BatchHttpLink sends the operations the UI issues within its 2 s window. */
  async batch(operations: Operation[]): Promise<OperationResult[]> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "*/*", "x-prefect-ui": "true", "x-backend": "SERVER" },
      body: JSON.stringify(operations.map((op) => ({ operationName: operationName(op.query), variables: op.variables ?? {}, query: op.query }))),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text}`);
    const body = JSON.parse(text) as OperationResult[];
    if (!Array.isArray(body) || body.length !== operations.length) throw new Error(`not an answer per operation: ${text}`);
    return body;
  }

  /** The operations of one batch, each required to succeed; their data. */
  async ok(...operations: Operation[]): Promise<Record<string, any>[]> {
    const results = await this.batch(operations);
    const failed = results.find((result) => result.errors?.length);
    if (failed) throw new Error(`GraphQL errors: ${JSON.stringify(failed.errors)}`);
    return results.map((result) => result.data!);
  }

  async one(query: string, variables?: Record<string, unknown>): Promise<Record<string, any>> {
    return (await this.ok({ query, variables }))[0]!;
  }

  // ---- the buttons -----------------------------------------------------------------------------------------------

  flowRun(id: string): Promise<any> {
    return this.one(ui.FLOW_RUN, { id }).then((data) => data.flow_run_by_pk);
  }

  /** The rocket on an upcoming run: a bare Scheduled state. */
  async startNow(flowRunId: string): Promise<void> {
    const run = await this.flowRun(flowRunId);
    await this.one(ui.SET_FLOW_RUN_STATES, { input: { states: [{ version: run.version, flow_run_id: run.id, state: { type: "Scheduled" } }] } });
  }

  /** Resets the task runs of `taskIds` and everything downstream of them to Pending, then the run to Scheduled. */
  private async restartFrom(run: any, taskIds: string[], message: string): Promise<void> {
    const { utility_downstream_tasks: downstream } = await this.one(ui.DOWNSTREAM_TASKS, { taskIds: `{${taskIds.join(",")}}`, flowRunId: run.id });
    const states = downstream.flatMap((row: any) =>
      row.task.task_runs.map((taskRun: any) => ({ version: taskRun.version, task_run_id: taskRun.id, state: { type: "Pending", message } })),
    );
    // the log line and the task-run resets go in one batch; the flow run's state once they are done
    await this.ok(
      { query: ui.WRITE_RUN_LOGS, variables: { input: { logs: [{ flow_run_id: run.id, name: "Restart", level: "INFO", message }] } } },
      { query: ui.SET_TASK_RUN_STATES, variables: { input: { states } } },
    );
    await this.one(ui.SET_FLOW_RUN_STATES, { input: { states: [{ version: run.version, flow_run_id: run.id, state: { type: "Scheduled", message } }] } });
  }

  /** Restart on a flow run page: from its failed task runs. */
  async restartFlowRun(flowRunId: string): Promise<void> {
    const run = await this.flowRun(flowRunId);
    const { task_run: failed } = await this.one(ui.FAILED_TASK_RUNS, { flowRunId });
    await this.restartFrom(run, failed.map((taskRun: any) => taskRun.task_id), "Flow run restarted from the UI.");
  }

  /** Restart on a task run page: from that task. */
  async restartTaskRun(taskRunId: string): Promise<void> {
    const { task_run_by_pk: taskRun } = await this.one(ui.TASK_RUN, { id: taskRunId });
    const run = await this.flowRun(taskRun.flow_run_id);
    await this.restartFrom(run, [taskRun.task.id], `Flow run restarted from task ${taskRun.task.name}.`);
  }

  /** Approve on a paused (manual-only) task run: a bare Resume with a message. */
  async approve(taskRunId: string): Promise<void> {
    const { task_run_by_pk: taskRun } = await this.one(ui.TASK_RUN, { id: taskRunId });
    await this.one(ui.SET_TASK_RUN_STATES, {
      input: { states: [{ version: taskRun.version, task_run_id: taskRun.id, state: { type: "Resume", message: "Approved in the UI." } }] },
    });
  }
}
