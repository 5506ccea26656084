// set_flow_run_states, set_task_run_states, cancel_flow_run.
import { cancelFlowRun, setFlowRunStates, setTaskRunStates } from "../../../../domain/src/states.ts";
import { agentIdHeader, type Context } from "../context.ts";
import type { Resolvers } from "../generated/resolvers.ts";

const resendWindow = (context: Context) => context.config.services.mutations.resent_state_window_seconds;

export const statesResolvers: Resolvers = {
  Mutation: {
    set_flow_run_states: async (_, { input }, context) => ({
      states: await setFlowRunStates(context.db, input.states, agentIdHeader(context), resendWindow(context)),
    }),
    set_task_run_states: async (_, { input }, context) => ({ states: await setTaskRunStates(context.db, input.states, resendWindow(context)) }),
    cancel_flow_run: async (_, { input }, context) => ({ state: await cancelFlowRun(context.db, input.flow_run_id) }),
  },
};
