// Flow, flow-group and schedule mutations.
import * as flows from "../../../../domain/src/flows.ts";
import * as groups from "../../../../domain/src/flow_groups.ts";
import * as schedules from "../../../../domain/src/scheduling.ts";
import { decompressFlow } from "../../../../domain/src/serialized_flows.ts";
import { scheduleOptions, type Context } from "../context.ts";
import type { Create_Flow_Input, Resolvers } from "../generated/resolvers.ts";

const ok = (success: boolean) => ({ success });

function createFlow(context: Context, input: Omit<Create_Flow_Input, "serialized_flow">, serializedFlow: unknown) {
  // Omitted means true; an explicit null means false (v1's GraphQL layer).
  const setScheduleActive = "set_schedule_active" in input ? input.set_schedule_active === true : true;
  return flows.createFlow(
    context.db,
    { ...input, serialized_flow: serializedFlow, set_schedule_active: setScheduleActive },
    {
      coreVersionCutoff: context.config.core_version_cutoff,
      activateSchedule: (client, flowId) => schedules.activateScheduleOfNewFlow(client, flowId, scheduleOptions(context)),
    },
  );
}

export const flowsResolvers: Resolvers = {
  Mutation: {
    create_flow: async (_, { input }, context) => ({
      id: await createFlow(context, input, input.serialized_flow),
    }),
    create_flow_from_compressed_string: async (_, { input }, context) => ({
      id: await createFlow(context, input, decompressFlow(input.serialized_flow)),
    }),
    register_tasks: async (_, { input }, context) =>
      ok(await flows.registerTasks(context.db, input.flow_id, input.serialized_tasks)),
    register_edges: async (_, { input }, context) =>
      ok(await flows.registerEdges(context.db, input.flow_id, input.serialized_edges)),
    delete_flow: async (_, { input }, context) => ok(await flows.deleteFlow(context.db, input.flow_id)),
    archive_flow: async (_, { input }, context) => ok(await flows.archiveFlow(context.db, input.flow_id)),
    update_flow_project: async (_, { input }, context) => ({
      id: await flows.updateFlowProject(context.db, input.flow_id, input.project_id),
    }),
    enable_flow_heartbeat: async (_, { input }, context) => ok(await groups.enableFlowHeartbeat(context.db, input.flow_id)),
    disable_flow_heartbeat: async (_, { input }, context) => ok(await groups.disableFlowHeartbeat(context.db, input.flow_id)),
    enable_flow_lazarus_process: async (_, { input }, context) => ok(await groups.enableFlowLazarus(context.db, input.flow_id)),
    disable_flow_lazarus_process: async (_, { input }, context) =>
      ok(await groups.disableFlowLazarus(context.db, input.flow_id)),
    enable_flow_version_lock: async (_, { input }, context) => ok(await groups.enableFlowVersionLock(context.db, input.flow_id)),
    disable_flow_version_lock: async (_, { input }, context) => ok(await groups.disableFlowVersionLock(context.db, input.flow_id)),
    delete_flow_group: async (_, { input }, context) => ok(await groups.deleteFlowGroup(context.db, input.flow_group_id)),
    set_flow_group_description: async (_, { input }, context) =>
      ok(await groups.setFlowGroupDescription(context.db, input.flow_group_id, input.description)),
    set_flow_group_labels: async (_, { input }, context) =>
      ok(await groups.setFlowGroupLabels(context.db, input.flow_group_id, input.labels)),
    set_flow_group_run_config: async (_, { input }, context) =>
      ok(await groups.setFlowGroupRunConfig(context.db, input.flow_group_id, input.run_config)),
    set_flow_group_schedule: async (_, { input }, context) =>
      ok(await schedules.setFlowGroupSchedule(context.db, input, scheduleOptions(context))),
    delete_flow_group_schedule: async (_, { input }, context) =>
      ok(await schedules.deleteFlowGroupSchedule(context.db, input.flow_group_id, scheduleOptions(context))),
    set_schedule_active: async (_, { input }, context) =>
      ok(await schedules.setScheduleActive(context.db, input.flow_id, scheduleOptions(context))),
    set_schedule_inactive: async (_, { input }, context) => ok(await schedules.setScheduleInactive(context.db, input.flow_id)),
    set_flow_group_default_parameters: async (_, { input }, context) =>
      ok(await groups.setFlowGroupDefaultParameters(context.db, input.flow_group_id, input.parameters)),
  },
};
