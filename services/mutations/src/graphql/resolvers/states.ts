// set_flow_run_states, set_task_run_states, cancel_flow_run.
import { cancelFlowRun, setFlowRunStates, setTaskRunStates } from "../../../../domain/src/states.ts";
import { agentIdHeader, type Context } from "../context.ts";

type Input<T> = { input: T };

export const statesResolvers = {
  Mutation: {
    set_flow_run_states: async (_: unknown, { input }: Input<{ states: { flow_run_id: string; state: unknown }[] }>, context: Context) => ({
      states: await setFlowRunStates(context.db, input.states, agentIdHeader(context), context.hooks),
    }),
    set_task_run_states: async (_: unknown, { input }: Input<{ states: { task_run_id: string; state: unknown }[] }>, context: Context) => ({
      states: await setTaskRunStates(context.db, input.states),
    }),
    cancel_flow_run: async (_: unknown, { input }: Input<{ flow_run_id: string }>, context: Context) => ({
      state: await cancelFlowRun(context.db, input.flow_run_id, context.hooks),
    }),
  },
};
