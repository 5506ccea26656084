// Agents, agent configs, logs, artifacts and messages.
import * as agents from "../../../../domain/src/agents.ts";
import * as artifacts from "../../../../domain/src/artifacts.ts";
import * as logs from "../../../../domain/src/logs.ts";
import * as messages from "../../../../domain/src/messages.ts";
import { coreVersionHeader } from "../context.ts";
import type { Resolvers } from "../generated/resolvers.ts";

const ok = (success: boolean) => ({ success });

export const agentsResolvers: Resolvers = {
  Mutation: {
    register_agent: async (_, { input }, context) => ({
      id: await agents.registerAgent(context.db, { ...input, core_version: coreVersionHeader(context) }),
    }),
    delete_agent: async (_, { input }, context) => ok(await agents.deleteAgent(context.db, input.agent_id)),
    create_agent_config: async (_, { input }, context) => ({ id: await agents.createAgentConfig(context.db, input) }),
    delete_agent_config: async (_, { input }, context) => ok(await agents.deleteAgentConfig(context.db, input.agent_config_id)),
    update_agent_config: async (_, { input }, context) => ok(await agents.updateAgentConfig(context.db, input)),
    write_run_logs: async (_, { input }, context) => {
      await logs.writeRunLogs(context.db, input.logs);
      return ok(true);
    },
    create_task_run_artifact: async (_, { input }, context) => ({
      id: await artifacts.createTaskRunArtifact(context.db, input, context.config.artifacts_max_payload_bytes),
    }),
    update_task_run_artifact: async (_, { input }, context) =>
      ok(await artifacts.updateTaskRunArtifact(context.db, input.task_run_artifact_id, input.data)),
    delete_task_run_artifact: async (_, { input }, context) => ok(await artifacts.deleteTaskRunArtifact(context.db, input.task_run_artifact_id)),
    mark_message_as_read: async (_, { input }, context) => ok(await messages.setMessageRead(context.db, input.message_id, true)),
    mark_message_as_unread: async (_, { input }, context) => ok(await messages.setMessageRead(context.db, input.message_id, false)),
    delete_message: async (_, { input }, context) => ok(await messages.deleteMessage(context.db, input.message_id)),
  },
};
