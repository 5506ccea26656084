// Cloud hook mutations: create_cloud_hook, delete_cloud_hook, set_cloud_hook_active/inactive, test_cloud_hook.
import * as hooks from "../../../../domain/src/cloud_hooks/hooks.ts";
import type { Resolvers } from "../generated/resolvers.ts";

export const cloudHooksResolvers: Resolvers = {
  Mutation: {
    create_cloud_hook: async (_, { input }, context) => ({ id: await hooks.createCloudHook(context.db, input) }),
    delete_cloud_hook: async (_, { input }, context) => ({ success: await hooks.deleteCloudHook(context.db, input.cloud_hook_id) }),
    set_cloud_hook_active: async (_, { input }, context) => ({ success: await hooks.setCloudHookActive(context.db, input.cloud_hook_id, true) }),
    set_cloud_hook_inactive: async (_, { input }, context) => ({ success: await hooks.setCloudHookActive(context.db, input.cloud_hook_id, false) }),
    test_cloud_hook: (_, { input }, context) => hooks.testCloudHook(context.db, input, { apiUrl: context.config.api.url }),
  },
};
