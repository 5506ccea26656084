// Flow-run and task-run mutations and the two run queries.
import { ApiError } from "../../../../domain/src/errors.ts";
import * as runs from "../../../../domain/src/runs.ts";
import { agentIdHeader, type Context } from "../context.ts";

type Input<T> = { input: T };
type TaskRunKey = { flow_run_id: string; task_id: string; map_index?: number | null };

export const runsResolvers = {
  Query: {
    get_task_run_info: (_: unknown, { task_run_id }: { task_run_id: string }, context: Context) => runs.getTaskRunInfo(context.db, task_run_id),
    mapped_children: (_: unknown, { task_run_id }: { task_run_id: string }, context: Context) => runs.mappedChildren(context.db, task_run_id),
  },
  Mutation: {
    create_flow_run: async (_: unknown, { input }: Input<runs.CreateFlowRunInput>, context: Context) => ({
      id: await runs.createFlowRun(context.db, input, context.hooks),
    }),
    set_flow_run_name: async (_: unknown, { input }: Input<{ flow_run_id: string; name: string }>, context: Context) => ({
      success: await runs.setFlowRunName(context.db, input.flow_run_id, input.name),
    }),
    set_task_run_name: async (_: unknown, { input }: Input<{ task_run_id: string; name: string }>, context: Context) => ({
      success: await runs.setTaskRunName(context.db, input.task_run_id, input.name),
    }),
    set_flow_run_labels: async (_: unknown, { input }: Input<{ flow_run_id: string; labels: string[] }>, context: Context) => ({
      success: await runs.setFlowRunLabels(context.db, input.flow_run_id, input.labels),
    }),
    get_or_create_task_run: async (_: unknown, { input }: Input<TaskRunKey>, context: Context) => {
      const taskRun = await runs.getOrCreateTaskRun(context.db, input);
      if (!taskRun) throw new ApiError("Invalid ID");
      return { id: taskRun.id };
    },
    get_or_create_task_run_info: async (_: unknown, { input }: Input<TaskRunKey>, context: Context) => {
      const taskRun = await runs.getOrCreateTaskRun(context.db, input);
      if (!taskRun) throw new ApiError("Invalid task ID");
      return taskRun;
    },
    update_flow_run_heartbeat: async (_: unknown, { input }: Input<{ flow_run_id: string }>, context: Context) => {
      await runs.updateFlowRunHeartbeat(context.db, input.flow_run_id);
      return { success: true };
    },
    update_task_run_heartbeat: async (_: unknown, { input }: Input<{ task_run_id: string }>, context: Context) => {
      await runs.updateTaskRunHeartbeat(context.db, input.task_run_id);
      return { success: true };
    },
    delete_flow_run: async (_: unknown, { input }: Input<{ flow_run_id: string }>, context: Context) => ({
      success: await runs.deleteFlowRun(context.db, input.flow_run_id),
    }),
    get_runs_in_queue: async (
      _: unknown,
      { input }: Input<{ tenant_id: string; before?: string | null; labels?: string[] | null }>,
      context: Context,
    ) => {
      if (!input.tenant_id) throw new ApiError("Invalid tenant ID");
      const flow_run_ids = await runs.getRunsInQueue(context.db, {
        ...input,
        agent_id: agentIdHeader(context),
        limit: context.config.queued_runs_returned_limit,
      });
      return { flow_run_ids };
    },
  },
};
