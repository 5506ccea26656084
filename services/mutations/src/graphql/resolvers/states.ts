// set_flow_run_states, set_task_run_states, cancel_flow_run.
import { cancelFlowRun, setFlowRunStates, setTaskRunStates } from "../../../../domain/src/states.ts";
import { agentIdHeader } from "../context.ts";
import type { Resolvers } from "../generated/resolvers.ts";

export const statesResolvers: Resolvers = {
  Mutation: {
    set_flow_run_states: async (_, { input }, context) => ({
      states: await setFlowRunStates(context.db, input.states, agentIdHeader(context)),
    }),
    set_task_run_states: async (_, { input }, context) => ({ states: await setTaskRunStates(context.db, input.states) }),
    cancel_flow_run: async (_, { input }, context) => ({ state: await cancelFlowRun(context.db, input.flow_run_id) }),
  },
};
