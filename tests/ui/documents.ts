// The Prefect UI v1's documents for the actions its buttons take, in the shapes the UI sends them (named operations,
// `$input: <name>_input!` variables for the service mutations, Hasura reads with `uuid` variables), keyed by the UI
// file they come from. The tests post them as the UI's BatchHttpLink does (tests/ui/client.ts). What each button
// sends is described in docs/ui.md.

// ---- reads the action dialogs make ------------------------------------------------------------------------------

/** FlowRun/flow-run.js: the run a page shows (its version is what the action buttons send back). */
export const FLOW_RUN = `query FlowRun($id: uuid!) {
  flow_run_by_pk(id: $id) {
    id name version state state_message state_start_time start_time end_time labels parameters context
    flow { id name flow_group_id }
    task_runs(order_by: {task: {slug: asc}}) { id version state state_start_time map_index task { id slug } }
  }
}`;

/** FlowRun/failed-task-runs.gql: the Restart dialog's failed task runs. */
export const FAILED_TASK_RUNS = `query FailedTaskRuns($flowRunId: uuid!) {
  task_run(where: {flow_run_id: {_eq: $flowRunId}, state: {_in: ["Failed", "TimedOut", "TriggerFailed", "Cancelled"]}}) {
    id version task_id task { id name }
  }
}`;

/** TaskRun/utility_downstream_tasks.gql: the tasks a restart resets, with this run's task runs of each. */
export const DOWNSTREAM_TASKS = `query DownstreamTasks($taskIds: _uuid, $flowRunId: uuid) {
  utility_downstream_tasks(args: {start_task_ids: $taskIds}, order_by: {depth: asc}) {
    depth task_id
    task { id name task_runs(where: {flow_run_id: {_eq: $flowRunId}}) { id map_index version } }
  }
}`;

/** TaskRun/task-run.gql: the task run page. */
export const TASK_RUN = `query TaskRun($id: uuid!) {
  task_run_by_pk(id: $id) { id version state state_message state_start_time flow_run_id task { id name } }
}`;

/** Dashboard/upcoming-flow-runs.gql: upcoming runs, each with the rocket ("Start now"). */
export const UPCOMING_FLOW_RUNS = `query UpcomingFlowRuns($projectId: uuid) {
  flow_run(
    where: {state: {_eq: "Scheduled"}, flow: {project_id: {_eq: $projectId}}}
    order_by: [{scheduled_start_time: asc}, {flow: {name: asc}}]
  ) { id name version state scheduled_start_time flow { id name } }
}`;

/** Notifications/notifications.js: the notification list. */
export const NOTIFICATIONS = `query Notifications($limit: Int = 100, $offset: Int = 0) {
  notifications: message(order_by: {created: desc}, limit: $limit, offset: $offset) { id content read text type }
}`;

/** App.vue agents poll. */
export const AGENTS = `query Agents { agent { id agent_config_id core_version created name labels last_queried type } }`;

// ---- mutations (the 42 the UI sends in Server mode; docs/ui.md) ---------------------------------------

const serviceMutation = (operation: string, field: string, selection: string) =>
  `mutation ${operation}($input: ${field}_input!) { ${field}(input: $input) { ${selection} } }`;

export const SET_FLOW_RUN_STATES = serviceMutation("SetFlowRunStates", "set_flow_run_states", "states { id status message }");
export const SET_TASK_RUN_STATES = serviceMutation("SetTaskRunStates", "set_task_run_states", "states { id status message }");
export const CANCEL_FLOW_RUN = serviceMutation("CancelFlowRun", "cancel_flow_run", "state");
export const WRITE_RUN_LOGS = serviceMutation("WriteRunLogs", "write_run_logs", "success");
export const SET_FLOW_RUN_NAME = serviceMutation("SetFlowRunName", "set_flow_run_name", "success");
export const SET_TASK_RUN_NAME = serviceMutation("SetTaskRunName", "set_task_run_name", "success");
export const SET_FLOW_RUN_LABELS = serviceMutation("SetFlowRunLabels", "set_flow_run_labels", "success");
export const DELETE_FLOW_RUN = serviceMutation("DeleteFlowRun", "delete_flow_run", "success");
export const SET_SCHEDULE_ACTIVE = serviceMutation("SetScheduleActive", "set_schedule_active", "success");
export const SET_SCHEDULE_INACTIVE = serviceMutation("SetScheduleInactive", "set_schedule_inactive", "success");
export const SET_FLOW_GROUP_LABELS = serviceMutation("SetFlowGroupLabels", "set_flow_group_labels", "success");
export const SET_FLOW_GROUP_DESCRIPTION = serviceMutation("SetFlowGroupDescription", "set_flow_group_description", "success");
export const SET_FLOW_GROUP_SCHEDULE = serviceMutation("SetFlowGroupSchedule", "set_flow_group_schedule", "success");
export const DELETE_FLOW_GROUP_SCHEDULE = serviceMutation("DeleteFlowGroupSchedule", "delete_flow_group_schedule", "success");
export const SET_FLOW_GROUP_DEFAULT_PARAMETERS = serviceMutation(
  "SetFlowGroupDefaultParameters",
  "set_flow_group_default_parameters",
  "success",
);
export const ENABLE_FLOW_HEARTBEAT = serviceMutation("EnableFlowHeartbeat", "enable_flow_heartbeat", "success");
export const DISABLE_FLOW_HEARTBEAT = serviceMutation("DisableFlowHeartbeat", "disable_flow_heartbeat", "success");
export const ENABLE_FLOW_LAZARUS_PROCESS = serviceMutation("EnableFlowLazarusProcess", "enable_flow_lazarus_process", "success");
export const DISABLE_FLOW_LAZARUS_PROCESS = serviceMutation("DisableFlowLazarusProcess", "disable_flow_lazarus_process", "success");
export const UPDATE_FLOW_PROJECT = serviceMutation("UpdateFlowProject", "update_flow_project", "id");
export const DELETE_FLOW = serviceMutation("DeleteFlow", "delete_flow", "success");
export const DELETE_FLOW_GROUP = serviceMutation("DeleteFlowGroup", "delete_flow_group", "success");
export const CREATE_PROJECT = serviceMutation("CreateProject", "create_project", "id");
export const DELETE_PROJECT = serviceMutation("DeleteProject", "delete_project", "success");
export const SET_PROJECT_NAME = serviceMutation("SetProjectName", "set_project_name", "id");
export const SET_PROJECT_DESCRIPTION = serviceMutation("SetProjectDescription", "set_project_description", "id");
export const DELETE_AGENT = serviceMutation("DeleteAgent", "delete_agent", "success");
export const CREATE_CLOUD_HOOK = serviceMutation("CreateCloudHook", "create_cloud_hook", "id");
export const DELETE_CLOUD_HOOK = serviceMutation("DeleteCloudHook", "delete_cloud_hook", "success");
export const TEST_CLOUD_HOOK = serviceMutation("TestCloudHook", "test_cloud_hook", "success error");
export const SET_CLOUD_HOOK_ACTIVE = serviceMutation("SetCloudHookActive", "set_cloud_hook_active", "success");
export const SET_CLOUD_HOOK_INACTIVE = serviceMutation("SetCloudHookInactive", "set_cloud_hook_inactive", "success");
export const MARK_MESSAGE_AS_READ = serviceMutation("MarkMessageAsRead", "mark_message_as_read", "success");
export const DELETE_MESSAGE = serviceMutation("DeleteMessage", "delete_message", "success");
export const DELETE_TENANT = serviceMutation("DeleteTenant", "delete_tenant", "success");
export const UPDATE_TENANT_NAME = serviceMutation("UpdateTenantName", "update_tenant_name", "id");
export const UPDATE_TENANT_SLUG = serviceMutation("UpdateTenantSlug", "update_tenant_slug", "id");
export const UPDATE_TENANT_SETTINGS = serviceMutation("UpdateTenantSettings", "update_tenant_settings", "id");
export const CREATE_AGENT_CONFIG = serviceMutation("CreateAgentConfig", "create_agent_config", "id");
export const DELETE_AGENT_CONFIG = serviceMutation("DeleteAgentConfig", "delete_agent_config", "success");
export const CREATE_FLOW = serviceMutation("CreateFlow", "create_flow", "id");

/** Mutations/create-flow-run.gql: Quick run and Run (with parameters, context, labels, run config, a start time). */
export const CREATE_FLOW_RUN = `mutation CreateFlowRun(
  $context: JSON, $flowId: UUID!, $flowRunName: String, $parameters: JSON, $scheduledStartTime: DateTime,
  $runConfig: JSON, $labels: [String!]
) {
  create_flow_run(input: {
    context: $context, flow_id: $flowId, flow_run_name: $flowRunName, parameters: $parameters,
    scheduled_start_time: $scheduledStartTime, run_config: $runConfig, labels: $labels
  }) { id }
}`;

/**
 * ClearLate (Dashboard upcoming runs, "clear late runs"): each late run cancelled with a state written inline as a
 * JSON string (docs/v1-compatibility.md, Errors and scalars), built by string interpolation.
 */
export const cancelLateRun = (flowRunId: string, version: number): string => `mutation {
  set_flow_run_states(input: {states: [{flow_run_id: "${flowRunId}", version: ${version},
    state: "{\\"type\\": \\"Cancelled\\", \\"message\\": \\"Cancelled because it was late\\"}"}]}) { states { id status } }
}`;

// ---- page reads ---------------------------------------------------------------------------------------------------

/** Dashboard/flow-runs.gql: the dashboard's counts, aliased flow_run_aggregate with null-collapsed variables. */
export const DASHBOARD_FLOW_RUNS = `query DashboardFlowRuns($projectId: uuid, $heartbeat: timestamptz) {
  Success: flow_run_aggregate(where: {flow: {project_id: {_eq: $projectId}}, state: {_eq: "Success"}, scheduled_start_time: {_gte: $heartbeat}}) { aggregate { count } }
  Failed: flow_run_aggregate(where: {flow: {project_id: {_eq: $projectId}}, state: {_eq: "Failed"}, scheduled_start_time: {_gte: $heartbeat}}) { aggregate { count } }
  Scheduled: flow_run_aggregate(where: {flow: {project_id: {_eq: $projectId}}, state: {_eq: "Scheduled"}}) { aggregate { count } }
  Running: flow_run_aggregate(where: {flow: {project_id: {_eq: $projectId}}, state: {_in: ["Running", "Cancelling"]}}) { aggregate { count } }
}`;

/** Flow/flow.js: the flow page, a flow group with its flows. */
export const FLOW_GROUP = `query FlowGroup($id: uuid!) {
  flow_group_by_pk(id: $id) {
    id name labels schedule settings default_parameters description run_config
    flows(order_by: {version: desc}) { id name version archived is_schedule_active project { id name } tasks_aggregate { aggregate { count } } }
  }
}`;

/** FlowRun/table-task-runs.gql with the inline mapped_children the flow-run page adds per mapped task run. */
export const flowRunTaskRuns = (mappedTaskRunId: string) => `query FlowRunTaskRuns($flowRunId: uuid!) {
  task_run(where: {flow_run_id: {_eq: $flowRunId}, map_index: {_eq: -1}}, order_by: {task: {name: asc}}) {
    id name state start_time end_time task { id name slug mapped type max_retries retry_delay }
  }
  task_run_aggregate(where: {flow_run_id: {_eq: $flowRunId}}) { aggregate { count } }
  mapped_run_0: mapped_children(task_run_id: "${mappedTaskRunId}") { min_start_time max_end_time state_counts }
}`;

/** Logs/flow-run-logs.gql: a run's logs, newest first. */
export const FLOW_RUN_LOGS = `query FlowRunLogs($flowRunId: uuid!, $limit: Int = 100) {
  flow_run_by_pk(id: $flowRunId) { id logs(order_by: {timestamp: desc}, limit: $limit) { id timestamp level message name task_run_id } }
}`;

/** Calendar/flow-runs.gql: one day's runs. */
export const CALENDAR_FLOW_RUNS = `query CalendarFlowRuns($start: timestamptz, $end: timestamptz) {
  flow_run(where: {scheduled_start_time: {_gte: $start, _lt: $end}}, order_by: {scheduled_start_time: asc}) { id name state scheduled_start_time flow { name } }
}`;
