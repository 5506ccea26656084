// Tenant and project mutations.
import * as projects from "../../../../domain/src/projects.ts";
import * as tenants from "../../../../domain/src/tenants.ts";
import type { Resolvers } from "../generated/resolvers.ts";

export const tenantsResolvers: Resolvers = {
  Mutation: {
    create_tenant: async (_, { input }, context) => ({ id: await tenants.createTenant(context.db, input) }),
    delete_tenant: async (_, { input }, context) => ({ success: await tenants.deleteTenant(context.db, input.tenant_id, input.confirm) }),
    update_tenant_name: async (_, { input }, context) => ({ id: await tenants.updateTenantName(context.db, input.tenant_id, input.name) }),
    update_tenant_slug: async (_, { input }, context) => ({ id: await tenants.updateTenantSlug(context.db, input.tenant_id, input.slug) }),
    update_tenant_settings: async (_, { input }, context) => ({
      id: await tenants.updateTenantSettings(context.db, input.tenant_id, input.settings),
    }),
    create_project: async (_, { input }, context) => ({ id: await projects.createProject(context.db, input) }),
    delete_project: async (_, { input }, context) => ({ success: await projects.deleteProject(context.db, input.project_id) }),
    set_project_name: async (_, { input }, context) => ({ id: await projects.setProjectName(context.db, input.project_id, input.name) }),
    set_project_description: async (_, { input }, context) => ({
      id: await projects.setProjectDescription(context.db, input.project_id, input.description),
    }),
  },
};
