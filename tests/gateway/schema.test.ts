// The composed schema (what clients see through the gateway) against v1's schema-v1.graphql, type by type and field
// by field with the shared schema diff. It must be equal but for the differences docs/gateway.md lists in its
// `json schema-differences` block (an entry that no longer occurs fails too). Both modes compose the same
// supergraph; the in-process one is checked with v1's Hasura table mutations on and off.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { buildSchema, printSchema, type GraphQLSchema } from "graphql";
import { definedRootFields, diffSchemas, unacceptedDifferences, type RootSelection } from "../helpers/schemaDiff.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { startStack, type Stack } from "./helpers.ts";

const specSdl = readFileSync(new URL("../spec/schema-v1.graphql", import.meta.url), "utf8");
const spec = buildSchema(specSdl);
const DOC = readFileSync(new URL("../../docs/gateway.md", import.meta.url), "utf8");

interface AllowedDifference {
  difference: string;
  reason: string;
}

function allowedDifferences(): AllowedDifference[] {
  const match = /```json schema-differences\n([\s\S]*?)```/.exec(DOC);
  if (!match) throw new Error("docs/gateway.md has no ```json schema-differences block");
  return JSON.parse(match[1]!) as AllowedDifference[];
}

const rootsOf = (schema: GraphQLSchema): RootSelection => ({
  query: Object.keys(schema.getQueryType()?.getFields() ?? {}),
  mutation: Object.keys(schema.getMutationType()?.getFields() ?? {}),
});

/** v1's Hasura table mutations: the spec's `type Mutation { … }` block (the service's come in `extend type Mutation`). */
const hasuraMutations = new Set(definedRootFields(specSdl, "Mutation"));

const allowed = allowedDifferences();
const observed = new Set<string>();
const db = useTestDatabase();
const stacks: Stack[] = [];

async function composed(mode: "in_process" | "distributed", tableMutations: boolean): Promise<Stack> {
  const stack = await startStack(mode, db.url, { PREFECT_SERVER__SERVICES__POSTGRAPHILE__ENABLE_TABLE_MUTATIONS: String(tableMutations) });
  stacks.push(stack);
  return stack;
}

afterAll(async () => {
  for (const stack of stacks) await stack.stop();
});

const apiSchema = (stack: Stack): GraphQLSchema => {
  const schema = stack.gateway.gateway.apiSchema;
  if (!schema) throw new Error("not composed");
  return schema;
};

describe.each([
  ["on", true],
  ["off", false],
])("table mutations %s", (_label, tableMutations) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await composed("in_process", tableMutations);
  });

  test("the composed schema equals schema-v1.graphql but for the documented differences", () => {
    const ours = apiSchema(stack);
    const expectedRoots = rootsOf(spec);
    // Off (the default) leaves out exactly v1's Hasura table mutations, as the data graph documents.
    if (!tableMutations) expectedRoots.mutation = expectedRoots.mutation.filter((name) => !hasuraMutations.has(name));
    const differences = diffSchemas({ schema: spec, roots: expectedRoots }, { schema: ours, roots: rootsOf(ours) });
    expect(unacceptedDifferences(differences, allowed.map((a) => a.difference), observed)).toEqual([]);
    if (!tableMutations) expect(Object.keys(ours.getMutationType()!.getFields()).filter((name) => hasuraMutations.has(name))).toEqual([]);
  });
});

describe("both modes", () => {
  test("distributed and in-process compose the same schema", async () => {
    const inProcess = await composed("in_process", false);
    const distributed = await composed("distributed", false);
    expect(printSchema(apiSchema(distributed))).toBe(printSchema(apiSchema(inProcess)));
  });
});

describe("the allow-list", () => {
  test("every entry has a reason and still occurs", () => {
    for (const entry of allowed) {
      expect(entry.reason, entry.difference).toMatch(/\w/);
      expect(observed, `stale allow-list entry: ${entry.difference}`).toContain(entry.difference);
    }
  });
});
