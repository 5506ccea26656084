// What v1's Hasura tracked (docs/data-graph.md), as data: the tables, their relationships with v1's exact names, and
// the two traversal functions. Everything the data graph exposes is derived from this list and the introspected
// database; a tracked table or column that is missing from the database stops start-up with a clear message.

import { sql, type SQL } from "postgraphile/pg-sql2";

/** A tracked table: `schema.table`, exposed as `table` (public) or `schema_table` (others, e.g. utility_traversal). */
export interface TrackedTable {
  schema: string;
  table: string;
  /** No table mutations: the rows are written through the mutations service only, which checks them. */
  readOnly?: boolean;
}

export interface RelationshipSpec {
  /** GraphQL field name, as in v1's Hasura metadata. */
  name: string;
  kind: "object" | "array";
  /** The table the relationship points to (its GraphQL name). */
  target: string;
  /** Pairs of (column on this table, column on the target) that join the two. */
  columns: ReadonlyArray<readonly [string, string]>;
}

export interface FunctionSpec {
  /** Root field name, e.g. `utility_downstream_tasks`. */
  name: string;
  schema: string;
  function: string;
  /** GraphQL name of the table whose rows the function returns. */
  returns: string;
  /**
   * Arguments in SQL order; `type` names the GraphQL input scalar. An argument with a SQL default is left out of the
   * call when null or missing; one without is passed as NULL (the function answers no rows for a NULL array).
   */
  args: ReadonlyArray<{ name: string; type: "_uuid" | "Int"; sqlType: SQL; hasDefault?: boolean }>;
}

export const TRACKED_TABLES: readonly TrackedTable[] = [
  { schema: "public", table: "tenant" },
  { schema: "public", table: "cloud_hook" },
  { schema: "public", table: "edge" },
  { schema: "public", table: "flow" },
  { schema: "public", table: "flow_group" },
  { schema: "public", table: "flow_run" },
  { schema: "public", table: "flow_run_state" },
  { schema: "public", table: "log" },
  { schema: "public", table: "project" },
  { schema: "public", table: "task" },
  { schema: "public", table: "task_run" },
  { schema: "public", table: "task_run_state" },
  { schema: "public", table: "message" },
  { schema: "public", table: "agent_config" },
  { schema: "public", table: "agent" },
  { schema: "public", table: "task_run_artifact" },
  // beyond v1: the concurrency limits, under Prefect Core's name and the UI's (a view), docs/concurrency.md; the
  // service's update_/delete_ mutations of these names write them
  { schema: "public", table: "task_tag_limit", readOnly: true },
  { schema: "public", table: "task_concurrency_limit", readOnly: true },
  { schema: "public", table: "flow_concurrency_limit", readOnly: true },
  { schema: "utility", table: "traversal" },
];

const object = (name: string, target: string, local: string, remote = "id"): RelationshipSpec => ({
  name,
  kind: "object",
  target,
  columns: [[local, remote]],
});
const array = (name: string, target: string, remote: string, local = "id"): RelationshipSpec => ({
  name,
  kind: "array",
  target,
  columns: [[local, remote]],
});

/** Relationships per table (GraphQL table name → relationships), exactly v1's names. */
export const RELATIONSHIPS: Readonly<Record<string, readonly RelationshipSpec[]>> = {
  tenant: [
    array("flow_groups", "flow_group", "tenant_id"),
    array("flows", "flow", "tenant_id"),
    array("projects", "project", "tenant_id"),
  ],
  project: [array("flows", "flow", "project_id"), object("tenant", "tenant", "tenant_id")],
  flow_group: [array("flows", "flow", "flow_group_id"), object("tenant", "tenant", "tenant_id")],
  flow: [
    array("edges", "edge", "flow_id"),
    array("flow_runs", "flow_run", "flow_id"),
    array("tasks", "task", "flow_id"),
    object("flow_group", "flow_group", "flow_group_id"),
    object("project", "project", "project_id"),
    object("tenant", "tenant", "tenant_id"),
  ],
  task: [
    array("downstream_edges", "edge", "upstream_task_id"),
    array("task_runs", "task_run", "task_id"),
    array("upstream_edges", "edge", "downstream_task_id"),
    object("flow", "flow", "flow_id"),
  ],
  edge: [
    object("downstream_task", "task", "downstream_task_id"),
    object("flow", "flow", "flow_id"),
    object("upstream_task", "task", "upstream_task_id"),
  ],
  flow_run: [
    array("logs", "log", "flow_run_id"),
    array("states", "flow_run_state", "flow_run_id"),
    array("task_runs", "task_run", "flow_run_id"),
    object("agent", "agent", "agent_id"),
    object("flow", "flow", "flow_id"),
    object("tenant", "tenant", "tenant_id"),
  ],
  flow_run_state: [object("flow_run", "flow_run", "flow_run_id")],
  task_run: [
    array("logs", "log", "task_run_id"),
    array("states", "task_run_state", "task_run_id"),
    object("flow_run", "flow_run", "flow_run_id"),
    object("task", "task", "task_id"),
    object("tenant", "tenant", "tenant_id"),
  ],
  task_run_state: [object("task_run", "task_run", "task_run_id")],
  task_run_artifact: [object("task_run", "task_run", "task_run_id")],
  agent: [array("flow_runs", "flow_run", "agent_id"), object("agent_config", "agent_config", "agent_config_id")],
  agent_config: [array("agents", "agent", "agent_config_id")],
  // A manual relationship in v1 (there is no foreign key from the function's row type).
  utility_traversal: [object("task", "task", "task_id")],
};

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: "utility_downstream_tasks",
    schema: "utility",
    function: "downstream_tasks",
    returns: "utility_traversal",
    args: [
      { name: "start_task_ids", type: "_uuid", sqlType: sql`uuid[]` },
      { name: "depth_limit", type: "Int", sqlType: sql`integer`, hasDefault: true },
    ],
  },
  {
    name: "utility_upstream_tasks",
    schema: "utility",
    function: "upstream_tasks",
    returns: "utility_traversal",
    args: [
      { name: "start_task_ids", type: "_uuid", sqlType: sql`uuid[]` },
      { name: "depth_limit", type: "Int", sqlType: sql`integer`, hasDefault: true },
    ],
  },
];

/**
 * Table mutations v1's gateway did not expose because the mutations service has a root field of the same name
 * (schema-v1.graphql's header): the service's field won, so the data graph leaves these out.
 */
export const SHADOWED_MUTATIONS: ReadonlySet<string> = new Set([
  "delete_tenant",
  "delete_cloud_hook",
  "delete_flow",
  "delete_flow_group",
  "delete_flow_run",
  "delete_project",
  "delete_message",
  "delete_agent_config",
  "update_agent_config",
  "delete_agent",
  "delete_task_run_artifact",
  "update_task_run_artifact",
]);

/** The GraphQL name of a tracked table: v1's Hasura prefixed tables outside `public` with their schema. */
export function graphqlTableName({ schema, table }: TrackedTable): string {
  return schema === "public" ? table : `${schema}_${table}`;
}
