// Request bodies as the real clients send them. Prefect Core 1.4.1 posts `{"query", "variables"}` with the
// variables as a JSON-encoded *string* and no operationName (spec clients.md §1.1); the UI's Apollo client posts
// variables as an object with the operation's name.

/** A body as Core sends it. */
export function coreBody(query: string, variables: Record<string, unknown> | null): string {
  return JSON.stringify({ query, variables: JSON.stringify(variables) });
}

/** A body as the UI sends it (one operation; the UI's batches hold several of these). */
export function uiBody(query: string, variables: Record<string, unknown>, operationName: string): string {
  return JSON.stringify({ operationName, variables, query });
}

/** A Running state as Core 1.4.1 serializes it (StateSchema) when a task run starts. */
export const RUNNING_STATE = {
  type: "Running",
  message: "Starting task run.",
  context: { tags: [] },
  cached_inputs: {},
  _result: { type: "NoResultType", __version__: "1.4.1" },
  __version__: "1.4.1",
} as const;

/** Core's set_task_run_states mutation (spec clients.md §1.3 #24), rendered as Core renders its documents. */
export const SET_TASK_RUN_STATES = `mutation($input: set_task_run_states_input!) {
    set_task_run_states(input: $input) {
        states {
            id
            status
            message
        }
    }
}`;

/** Core's create_flow_run (§1.3 #15): `prefect run`, the StartFlowRun task, Client.create_flow_run. */
export const CREATE_FLOW_RUN = `mutation($input: create_flow_run_input!) {
    create_flow_run(input: $input) {
        id
    }
}`;

/** Core's agent poll (§1.3 #30). */
export const GET_RUNS_IN_QUEUE = `mutation($input: get_runs_in_queue_input!) {
    get_runs_in_queue(input: $input) {
        flow_run_ids
    }
}`;

/** A set_task_run_states body for these task runs (Core sends version: null… or the run's version; ignored). */
export function setTaskRunStatesBody(taskRunIds: string[]): string {
  return coreBody(SET_TASK_RUN_STATES, {
    input: { states: taskRunIds.map((id) => ({ task_run_id: id, version: null, state: RUNNING_STATE })) },
  });
}
