// Tenant and project mutations.
import * as projects from "../../../../domain/src/projects.ts";
import * as tenants from "../../../../domain/src/tenants.ts";
import type { Context } from "../context.ts";

type Input<T> = { input: T };

export const tenantsResolvers = {
  Mutation: {
    create_tenant: async (_: unknown, { input }: Input<{ name: string; slug: string }>, context: Context) => ({
      id: await tenants.createTenant(context.db, input),
    }),
    delete_tenant: async (_: unknown, { input }: Input<{ tenant_id: string; confirm: boolean }>, context: Context) => ({
      success: await tenants.deleteTenant(context.db, input.tenant_id, input.confirm),
    }),
    update_tenant_name: async (_: unknown, { input }: Input<{ tenant_id: string; name: string }>, context: Context) => ({
      id: await tenants.updateTenantName(context.db, input.tenant_id, input.name),
    }),
    update_tenant_slug: async (_: unknown, { input }: Input<{ tenant_id: string; slug: string }>, context: Context) => ({
      id: await tenants.updateTenantSlug(context.db, input.tenant_id, input.slug),
    }),
    update_tenant_settings: async (_: unknown, { input }: Input<{ tenant_id: string; settings?: unknown }>, context: Context) => ({
      id: await tenants.updateTenantSettings(context.db, input.tenant_id, input.settings),
    }),
    create_project: async (_: unknown, { input }: Input<{ tenant_id: string; name: string; description?: string | null }>, context: Context) => ({
      id: await projects.createProject(context.db, input),
    }),
    delete_project: async (_: unknown, { input }: Input<{ project_id: string }>, context: Context) => ({
      success: await projects.deleteProject(context.db, input.project_id),
    }),
    set_project_name: async (_: unknown, { input }: Input<{ project_id: string; name: string }>, context: Context) => ({
      id: await projects.setProjectName(context.db, input.project_id, input.name),
    }),
    set_project_description: async (_: unknown, { input }: Input<{ project_id: string; description?: string | null }>, context: Context) => ({
      id: await projects.setProjectDescription(context.db, input.project_id, input.description),
    }),
  },
};
