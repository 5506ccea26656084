// Agents, agent configs, logs, artifacts and messages.
import * as agents from "../../../../domain/src/agents.ts";
import * as artifacts from "../../../../domain/src/artifacts.ts";
import * as logs from "../../../../domain/src/logs.ts";
import * as messages from "../../../../domain/src/messages.ts";
import { coreVersionHeader, type Context } from "../context.ts";

type Input<T> = { input: T };
const ok = (success: boolean) => ({ success });

export const agentsResolvers = {
  Mutation: {
    register_agent: async (_: unknown, { input }: Input<Omit<agents.RegisterAgentInput, "core_version">>, context: Context) => ({
      id: await agents.registerAgent(context.db, { ...input, core_version: coreVersionHeader(context) }),
    }),
    delete_agent: async (_: unknown, { input }: Input<{ agent_id: string }>, context: Context) => ok(await agents.deleteAgent(context.db, input.agent_id)),
    create_agent_config: async (_: unknown, { input }: Input<{ tenant_id: string; name?: string | null; settings?: unknown }>, context: Context) => ({
      id: await agents.createAgentConfig(context.db, input),
    }),
    delete_agent_config: async (_: unknown, { input }: Input<{ agent_config_id: string }>, context: Context) =>
      ok(await agents.deleteAgentConfig(context.db, input.agent_config_id)),
    update_agent_config: async (_: unknown, { input }: Input<{ agent_config_id: string; name?: string | null; settings?: unknown }>, context: Context) =>
      ok(await agents.updateAgentConfig(context.db, input)),
    write_run_logs: async (_: unknown, { input }: Input<{ logs: logs.RunLog[] }>, context: Context) => {
      await logs.writeRunLogs(context.db, input.logs);
      return ok(true);
    },
    create_task_run_artifact: async (
      _: unknown,
      { input }: Input<{ task_run_id: string; kind: string; data: unknown; tenant_id?: string | null }>,
      context: Context,
    ) => ({ id: await artifacts.createTaskRunArtifact(context.db, input, context.config.artifacts_max_payload_bytes) }),
    update_task_run_artifact: async (_: unknown, { input }: Input<{ task_run_artifact_id: string; data: unknown }>, context: Context) =>
      ok(await artifacts.updateTaskRunArtifact(context.db, input.task_run_artifact_id, input.data)),
    delete_task_run_artifact: async (_: unknown, { input }: Input<{ task_run_artifact_id: string }>, context: Context) =>
      ok(await artifacts.deleteTaskRunArtifact(context.db, input.task_run_artifact_id)),
    mark_message_as_read: async (_: unknown, { input }: Input<{ message_id: string }>, context: Context) =>
      ok(await messages.setMessageRead(context.db, input.message_id, true)),
    mark_message_as_unread: async (_: unknown, { input }: Input<{ message_id: string }>, context: Context) =>
      ok(await messages.setMessageRead(context.db, input.message_id, false)),
    delete_message: async (_: unknown, { input }: Input<{ message_id: string }>, context: Context) =>
      ok(await messages.deleteMessage(context.db, input.message_id)),
  },
};
