// The service schema: the SDL files under schema/ (the service part of schema-v1.graphql) with their resolvers,
// built as an Apollo Federation subgraph.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildSubgraphSchema, type GraphQLResolverMap } from "@apollo/subgraph";
import { parse, type DocumentNode, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { PROJECT_ROOT } from "../../../shared/src/paths.ts";
import { agentsResolvers } from "./resolvers/agents.ts";
import { cloudHooksResolvers } from "./resolvers/cloud_hooks.ts";
import { concurrencyResolvers } from "./resolvers/concurrency.ts";
import { flowsResolvers } from "./resolvers/flows.ts";
import { rootResolvers } from "./resolvers/root.ts";
import { runsResolvers } from "./resolvers/runs.ts";
import { statesResolvers } from "./resolvers/states.ts";
import { tenantsResolvers } from "./resolvers/tenants.ts";
import { DateTimeScalar, JSONScalar, UUIDScalar } from "./scalars.ts";
import { refusingNul } from "./text.ts";
import type { Resolvers } from "./generated/resolvers.ts";

// (read from the sources: the build does not copy them)
const SCHEMA_DIR = join(PROJECT_ROOT, "services", "mutations", "src", "graphql", "schema");

/** The SDL of the service, one document made of every file under schema/. */
export function serviceTypeDefs(): DocumentNode {
  const files = readdirSync(SCHEMA_DIR).filter((file) => file.endsWith(".graphql")).sort();
  return parse(files.map((file) => readFileSync(join(SCHEMA_DIR, file), "utf8")).join("\n"));
}

function merge(groups: Resolvers[]): GraphQLResolverMap<unknown> {
  const Query: Record<string, unknown> = {};
  const Mutation: Record<string, unknown> = {};
  for (const group of groups) {
    Object.assign(Query, group.Query);
    Object.assign(Mutation, group.Mutation);
  }
  for (const fields of [Query, Mutation]) {
    for (const [name, resolve] of Object.entries(fields)) fields[name] = refusingNul(name, resolve as GraphQLFieldResolver<unknown, unknown>);
  }
  return { UUID: UUIDScalar, JSON: JSONScalar, DateTime: DateTimeScalar, Query, Mutation } as unknown as GraphQLResolverMap<unknown>;
}

/** The executable subgraph schema. */
export function buildServiceSchema(): GraphQLSchema {
  return buildSubgraphSchema([{
    typeDefs: serviceTypeDefs(),
    resolvers: merge([rootResolvers, runsResolvers, statesResolvers, flowsResolvers, tenantsResolvers, agentsResolvers, cloudHooksResolvers, concurrencyResolvers]),
  }]);
}
