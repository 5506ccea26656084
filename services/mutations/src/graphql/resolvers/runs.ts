// Flow-run and task-run mutations and the two run queries.
import * as runs from "../../../../domain/src/runs.ts";
import { agentIdHeader } from "../context.ts";
import type { Resolvers } from "../generated/resolvers.ts";

const ok = (success: boolean) => ({ success });

export const runsResolvers: Resolvers = {
  Query: {
    get_task_run_info: (_, { task_run_id }, context) => runs.getTaskRunInfo(context.db, task_run_id),
    mapped_children: (_, { task_run_id }, context) => runs.mappedChildren(context.db, task_run_id),
  },
  Mutation: {
    create_flow_run: async (_, { input }, context) => ({ id: await runs.createFlowRun(context.db, input) }),
    set_flow_run_name: async (_, { input }, context) => ok(await runs.setFlowRunName(context.db, input.flow_run_id, input.name)),
    set_task_run_name: async (_, { input }, context) => ok(await runs.setTaskRunName(context.db, input.task_run_id, input.name)),
    set_flow_run_labels: async (_, { input }, context) => ok(await runs.setFlowRunLabels(context.db, input.flow_run_id, input.labels)),
    get_or_create_task_run: async (_, { input }, context) => ({ id: await runs.getOrCreateTaskRunId(context.db, input) }),
    get_or_create_task_run_info: (_, { input }, context) => runs.getOrCreateTaskRunInfo(context.db, input),
    // v1 answered success for any id, unknown ones included
    update_flow_run_heartbeat: async (_, { input }, context) => {
      await runs.updateFlowRunHeartbeat(context.db, input.flow_run_id);
      return ok(true);
    },
    update_task_run_heartbeat: async (_, { input }, context) => {
      await runs.updateTaskRunHeartbeat(context.db, input.task_run_id);
      return ok(true);
    },
    delete_flow_run: async (_, { input }, context) => ok(await runs.deleteFlowRun(context.db, input.flow_run_id)),
    get_runs_in_queue: async (_, { input }, context) => ({
      flow_run_ids: await runs.getRunsInQueue(context.db, {
        ...input,
        agent_id: agentIdHeader(context),
        limit: context.config.queued_runs_returned_limit,
      }),
    }),
  },
};
