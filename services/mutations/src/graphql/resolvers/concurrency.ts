// Concurrency limits (beyond v1; docs/concurrency.md): Prefect Core's and the UI's names for one set of limits.
import * as concurrency from "../../../../domain/src/concurrency.ts";
import type { Resolvers } from "../generated/resolvers.ts";

export const concurrencyResolvers: Resolvers = {
  Query: {
    task_concurrency: async (_, { names, tenant_id }, context) =>
      (await concurrency.taskTagUsage(context.db, { tenant_id, tags: names })).map(({ tag, usage }) => ({ name: tag, usage })),
    flow_concurrency: (_, { labels, tenant_id }, context) => concurrency.flowLabelUsage(context.db, { tenant_id, labels }),
  },
  Mutation: {
    update_task_tag_limit: async (_, { input }, context) => ({ id: await concurrency.setTaskTagLimit(context.db, input) }),
    delete_task_tag_limit: async (_, { input }, context) => ({ success: await concurrency.deleteTaskTagLimit(context.db, input.limit_id) }),
    update_task_concurrency_limit: async (_, { input }, context) => ({
      id: await concurrency.setTaskTagLimit(context.db, { tenant_id: input.tenant_id, tag: input.name, limit: input.limit }),
    }),
    delete_task_concurrency_limit: async (_, { input }, context) => ({
      success: await concurrency.deleteTaskTagLimit(context.db, input.limit_id),
    }),
    update_flow_concurrency_limit: async (_, { input }, context) => ({
      id: await concurrency.setFlowLabelLimit(context.db, { tenant_id: input.tenant_id, label: input.label ?? input.name, limit: input.limit }),
    }),
    delete_flow_concurrency_limit: async (_, { input }, context) => ({
      success: await concurrency.deleteFlowLabelLimit(context.db, input.limit_id),
    }),
  },
};
