// The data graph against a per-file test database: build the schema once, run operations without HTTP, and count
// the SQL statements each operation sends.
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { grafast } from "postgraphile/grafast";
import type { ExecutionResult } from "graphql";
import { DEFAULT_LIMITS, makeDataGraphSchema, type DataGraphLimits, type DataGraphSchema } from "../../services/postgraphile/src/preset.ts";
import { makeMaskError } from "../../services/postgraphile/src/errors.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "./seed.ts";

export interface DataGraphHarness {
  /** Runs one operation; `statements` holds the SQL statements it sent. */
  run(source: string, variableValues?: Record<string, unknown>): Promise<ExecutionResult & { statements: string[] }>;
  /** Runs and fails on any error; returns `data`. */
  data(source: string, variableValues?: Record<string, unknown>): Promise<Record<string, unknown>>;
  readonly graph: DataGraphSchema;
  readonly db: ReturnType<typeof useTestDatabase>;
}

let statements: string[] = [];
const maskError = makeMaskError({ error: () => {} }, DEFAULT_LIMITS);

class CountingClient extends pg.Client {
  override query(...args: unknown[]): never {
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === "string" ? first : first?.text;
    if (text) statements.push(text);
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

/**
 * Runs one operation on `graph` without HTTP; errors are masked as the service's HTTP layer (grafserv's maskError)
 * would send them.
 */
export async function runOperation(
  graph: DataGraphSchema,
  source: string,
  variableValues?: Record<string, unknown>,
): Promise<ExecutionResult> {
  const result = (await grafast({
    schema: graph.schema,
    resolvedPreset: graph.resolvedPreset,
    requestContext: {},
    source,
    variableValues: variableValues ?? null,
  })) as ExecutionResult;
  return { ...result, ...(result.errors ? { errors: result.errors.map(maskError) } : {}) };
}

/** Registers hooks creating a seeded database and the schema over it. */
export function useDataGraph(options: { seed?: boolean; enableTableMutations?: boolean; limits?: DataGraphLimits } = {}): DataGraphHarness {
  const db = useTestDatabase();
  let graph: DataGraphSchema | undefined;
  beforeAll(async () => {
    if (options.seed !== false) await seed(db.pool);
    graph = await makeDataGraphSchema({
      connectionString: db.url,
      poolSize: 2,
      client: CountingClient,
      enableTableMutations: options.enableTableMutations,
      limits: options.limits,
    });
  });
  afterAll(async () => {
    await graph?.release();
  });
  const run: DataGraphHarness["run"] = async (source, variableValues) => {
    if (!graph) throw new Error("useDataGraph(): only inside tests");
    statements = [];
    const result = await runOperation(graph, source, variableValues);
    return {
      ...result,
      statements: statements.filter((s) => !/^(begin|commit|rollback|select set_config|savepoint|release savepoint)/i.test(s.trim())),
    };
  };
  return {
    run,
    async data(source, variableValues) {
      const result = await run(source, variableValues);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as Record<string, unknown>;
    },
    get graph() {
      if (!graph) throw new Error("useDataGraph(): only inside tests");
      return graph;
    },
    db,
  };
}
