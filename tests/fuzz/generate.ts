// Random GraphQL operations generated from the composed schema, for the fuzz suite: a seeded generator (the same seed
// gives the same documents) picks a root field, fills its arguments from a catalogue of values per scalar (valid ids
// of the seeded database, malformed uuids and timestamps, NUL characters, long texts, extreme numbers …), written
// inline or as variables, and selects a bounded random part of the result.
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { ids } from "../postgraphile/seed.ts";

/** A deterministic generator of numbers in [0, 1) (mulberry32). */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDED_IDS = [ids.tenant.alpha, ids.project.one, ids.flowGroup.etl, ids.flow.etl2, ids.task.t1!, ids.flowRun.a, ids.flowRun.b, ids.agent.one, ids.artifact, ids.message, ids.missing];

const TEXTS = ["x", "", "proj-one", "etl", "Success", "a".repeat(300), "with \u0000 NUL", "\u0000", "🚀 ünïcödé", "'; drop table flow; --", "%_\\", "null", "x".repeat(5000)];
const UUIDS = [...SEEDED_IDS, "not-a-uuid", "", "00000000-0000-0000-0000", `{${ids.flowRun.a}}`, `${ids.flowRun.a}\u0000`, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"];
const TIMES = ["2024-01-01T00:00:00+00:00", "2024-01-01", "not a time", "2024-02-30T00:00:00Z", "2024-01-01T25:00:00", "now", "", "99999-01-01", "1970-01-01T00:00:00.123456789Z"];
const INTS = [0, 1, -1, 3, 100, 2147483647, -2147483648];
const FLOATS = [0, 0.5, -1, 1e308, -1e308];
const JSONS: unknown[] = [{}, { a: 1 }, { a: "\u0000" }, { "\u0000": 1 }, [1, 2], "text", 42, null, { type: "Success", message: "done" }, { deep: { deeper: { deepest: [1, { x: "y" }] } } }];
const INTERVALS = ["00:05:00", "1 day", "P1D", "bogus!!", "", "-1 hours"];
const UUID_ARRAYS = [`{${ids.task.t1},${ids.task.t2}}`, "{}", "{bad}", "nope", "", `{${ids.task.t1}`];

/** The values a scalar's argument is drawn from. */
function scalarValues(name: string): readonly unknown[] {
  switch (name) {
    case "UUID":
    case "uuid":
      return UUIDS;
    case "String":
      return TEXTS;
    case "Int":
      return INTS;
    case "Float":
      return FLOATS;
    case "Boolean":
      return [true, false];
    case "DateTime":
    case "timestamptz":
      return TIMES;
    case "JSON":
    case "jsonb":
      return JSONS;
    case "interval":
      return INTERVALS;
    case "_uuid":
      return UUID_ARRAYS;
    default:
      return ["x", 1, null];
  }
}

/** Root fields the suite leaves out: test_cloud_hook calls out to the hook's URL (tests stay on loopback). */
const SKIPPED_ROOTS = new Set(["test_cloud_hook", "_service", "_entities"]);

export interface GeneratedOperation {
  query: string;
  variables: Record<string, unknown>;
}

export class OperationGenerator {
  readonly #schema: GraphQLSchema;
  readonly #next: () => number;

  constructor(schema: GraphQLSchema, seed: number) {
    this.#schema = schema;
    this.#next = random(seed);
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#next() * items.length)]!;
  }

  #chance(probability: number): boolean {
    return this.#next() < probability;
  }

  /** One operation: a query (two times in three) or a mutation, with one or two root fields. */
  operation(): GeneratedOperation {
    const mutation = this.#chance(1 / 3) && this.#schema.getMutationType();
    const root = (mutation || this.#schema.getQueryType())!;
    const fields = Object.values(root.getFields()).filter((field) => !SKIPPED_ROOTS.has(field.name));
    const variables: Record<string, unknown> = {};
    const definitions: string[] = [];
    const selections: string[] = [];
    const count = this.#chance(0.2) ? 2 : 1;
    for (let i = 0; i < count; i++) {
      const field = this.#pick(fields);
      const args = this.#arguments(field.args, variables, definitions);
      selections.push(`f${i}: ${field.name}${args}${this.#selection(getNamedType(field.type), 0)}`);
    }
    const header = definitions.length ? `(${definitions.join(", ")})` : "";
    return { query: `${mutation ? "mutation" : "query"} Fuzz${header} { ${selections.join(" ")} }`, variables };
  }

  #arguments(args: readonly GraphQLArgument[], variables: Record<string, unknown>, definitions: string[]): string {
    const given: string[] = [];
    for (const arg of args) {
      if (!isNonNullType(arg.type) && !this.#chance(0.5)) continue;
      const value = this.#value(arg.type, 0, arg.name);
      if (this.#chance(0.6)) {
        const name = `v${definitions.length}`;
        definitions.push(`$${name}: ${String(arg.type)}`);
        variables[name] = value;
        given.push(`${arg.name}: $${name}`);
      } else {
        given.push(`${arg.name}: ${this.#literal(arg.type, value)}`);
      }
    }
    return given.length ? `(${given.join(", ")})` : "";
  }

  /** A value for an input type: mostly well-formed, sometimes not (a null where none is allowed, a wrong kind). */
  #value(type: GraphQLInputType, depth: number, name: string): unknown {
    if (this.#chance(0.03)) return this.#pick([null, "wrong kind", 7, [], {}]);
    const inner = getNullableType(type) as GraphQLInputType;
    if (isListType(inner)) {
      const length = this.#pick([0, 1, 2, 3]);
      return Array.from({ length }, () => this.#value(inner.ofType as GraphQLInputType, depth + 1, name));
    }
    if (isScalarType(inner)) {
      if (name === "limit" || name === "offset") return this.#pick([0, 1, 5, -1, 10_000, 2147483647]);
      return this.#pick(scalarValues(inner.name));
    }
    if (isEnumType(inner)) return this.#chance(0.9) ? this.#pick(inner.getValues()).value : "NOT_A_VALUE";
    if (isInputObjectType(inner)) {
      const object: Record<string, unknown> = {};
      for (const field of Object.values(inner.getFields())) {
        const required = isNonNullType(field.type);
        if (!required && (depth >= 3 || !this.#chance(0.35))) continue;
        object[field.name] = this.#value(field.type, depth + 1, field.name);
      }
      return object;
    }
    return null;
  }

  /** `value` written inline, as a GraphQL literal of `type` (JSON values as v1's JSON-in-a-string). */
  #literal(type: GraphQLInputType, value: unknown): string {
    const inner = getNullableType(type) as GraphQLInputType;
    if (value === null || value === undefined) return "null";
    if (isListType(inner) && Array.isArray(value)) return `[${value.map((item) => this.#literal(inner.ofType as GraphQLInputType, item)).join(", ")}]`;
    if (isEnumType(inner) && typeof value === "string" && /^[_A-Za-z]\w*$/.test(value)) return value;
    if (isScalarType(inner) && (inner.name === "JSON" || inner.name === "jsonb") && typeof value !== "string") return JSON.stringify(JSON.stringify(value));
    if (isInputObjectType(inner) && typeof value === "object" && !Array.isArray(value)) {
      const fields = inner.getFields();
      return `{${Object.entries(value as Record<string, unknown>)
        .map(([key, item]) => `${key}: ${fields[key] ? this.#literal(fields[key].type, item) : JSON.stringify(item)}`)
        .join(", ")}}`;
    }
    return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? "null";
  }

  /** A selection of `type`: a few leaves and, above depth 2, maybe a nested object or list (limited when it can be). */
  #selection(type: GraphQLNamedType, depth: number): string {
    if (!isObjectType(type)) return "";
    const fields = Object.values((type as GraphQLObjectType).getFields()).filter((field) => !field.name.startsWith("_"));
    const leaves = fields.filter((field) => !isObjectType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)));
    const nested = fields.filter((field) => isObjectType(getNamedType(field.type)) && field.args.every((arg) => !isNonNullType(arg.type)));
    const chosen = new Set<string>();
    for (let i = 0; i < 3 && leaves.length; i++) chosen.add(this.#pick(leaves).name);
    if (depth < 2 && nested.length && (chosen.size === 0 || this.#chance(0.5))) {
      const field: GraphQLField<unknown, unknown> = this.#pick(nested);
      const limit = field.args.some((arg) => arg.name === "limit") ? "(limit: 3)" : "";
      chosen.add(`${field.name}${limit}${this.#selection(getNamedType(field.type), depth + 1)}`);
    }
    if (chosen.size === 0) chosen.add("__typename");
    return ` { ${[...chosen].join(" ")} }`;
  }
}
