// Cloud hook mutations: create_cloud_hook, delete_cloud_hook, set_cloud_hook_active/inactive, test_cloud_hook.
import * as hooks from "../../../../domain/src/cloud_hooks/hooks.ts";
import type { Context } from "../context.ts";

type Input<T> = { input: T };
type HookId = Input<{ cloud_hook_id: string }>;

export const cloudHooksResolvers = {
  Mutation: {
    create_cloud_hook: async (_: unknown, { input }: Input<hooks.CreateCloudHookInput>, context: Context) => ({
      id: await hooks.createCloudHook(context.db, input),
    }),
    delete_cloud_hook: async (_: unknown, { input }: HookId, context: Context) => ({
      success: await hooks.deleteCloudHook(context.db, input.cloud_hook_id),
    }),
    set_cloud_hook_active: async (_: unknown, { input }: HookId, context: Context) => ({
      success: await hooks.setCloudHookActive(context.db, input.cloud_hook_id, true),
    }),
    set_cloud_hook_inactive: async (_: unknown, { input }: HookId, context: Context) => ({
      success: await hooks.setCloudHookActive(context.db, input.cloud_hook_id, false),
    }),
    test_cloud_hook: (_: unknown, { input }: Input<hooks.TestCloudHookInput>, context: Context) =>
      hooks.testCloudHook(context.db, input, { apiUrl: context.config.api.url }),
  },
};
