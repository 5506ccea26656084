/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field */
// Test harness for the gateway: a fresh seeded database per file, and a gateway on a free port in either mode:
//   in_process   the gateway alone (both subgraphs inside it)
//   distributed  the postgraphile and mutations services started in this process on free ports, and the gateway
//                composing them over HTTP
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import { pino, type Logger } from "pino";
import { loadConfig, type Config } from "../../services/shared/src/config.ts";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";
import { start as startGateway, type RunningGateway } from "../../services/gateway/src/index.ts";
import { start as startDataGraph, type RunningDataGraph } from "../../services/postgraphile/src/index.ts";
import { createMutationsService, type MutationsService } from "../../services/mutations/src/server.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "../postgraphile/seed.ts";

export type Mode = "in_process" | "distributed";
export const MODES: readonly Mode[] = ["in_process", "distributed"];

export interface GraphQLBody {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; locations?: unknown; extensions?: Record<string, any> }[];
}

export const log = pino({ level: process.env.GATEWAY_TEST_LOG ?? "silent" });

/** A configuration for tests: no user file, the given env. */
export function gatewayConfig(env: Record<string, string>): Config {
  return loadConfig({
    env: {
      PREFECT_SERVER__SERVICES__GATEWAY__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__GATEWAY__PORT: "0",
      PREFECT_SERVER__QUEUE__PREFIX: `prefect-test-gw-${process.pid}-${randomBytes(3).toString("hex")}`,
      ...env,
    },
    ignoreUserFile: true,
  });
}

export interface Stack {
  readonly url: string;
  readonly gateway: RunningGateway;
  readonly dataGraph?: RunningDataGraph;
  readonly mutations?: MutationsService;
  stop(): Promise<void>;
}

/**
 * Starts a gateway (and, distributed, its two subgraphs in this process) on `databaseUrl`; waits until composed.
 * `reachDataGraph`: given the data graph's port, the port the gateway is to reach it on (a proxy in between);
 * `gatewayLog`: the gateway's logger (default silent).
 */
export async function startStack(
  mode: Mode,
  databaseUrl: string,
  env: Record<string, string> = {},
  reachDataGraph: (port: number) => Promise<number> | number = (port) => port,
  gatewayLog: Logger = log,
): Promise<Stack> {
  let dataGraph: RunningDataGraph | undefined;
  let mutations: MutationsService | undefined;
  let mutationsDb: Pool | undefined;
  const settings: Record<string, string> = { DATABASE_URL: databaseUrl, PREFECT_SERVER__SERVICES__GATEWAY__MODE: mode, ...env };
  if (mode === "distributed") {
    const base = gatewayConfig({
      ...settings,
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__HOST: "127.0.0.1",
      PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "1",
    });
    dataGraph = await startDataGraph(base, log);
    mutationsDb = createPool(databaseUrl, 5);
    mutations = await createMutationsService({ db: mutationsDb, config: base, log });
    const address = await mutations.listen(0, "127.0.0.1");
    settings.PREFECT_SERVER__SERVICES__POSTGRAPHILE__URL = `http://127.0.0.1:${await reachDataGraph(dataGraph.address.port)}/graphql`;
    settings.PREFECT_SERVER__SERVICES__MUTATIONS__URL = `http://127.0.0.1:${address.port}/graphql/`;
  }
  const gateway = await startGateway(gatewayConfig(settings), gatewayLog, { retryMs: 200 });
  await gateway.gateway.start();
  return {
    url: `http://127.0.0.1:${gateway.address.port}`,
    gateway,
    dataGraph,
    mutations,
    async stop() {
      await gateway.stop();
      await dataGraph?.stop();
      await mutations?.stop();
      await mutationsDb?.end();
    },
  };
}

/** A distributed-mode gateway alone (its subgraphs wherever `env` says), not waiting for composition. */
export async function startGatewayOnly(env: Record<string, string>): Promise<{ url: string; gateway: RunningGateway; stop(): Promise<void> }> {
  const gateway = await startGateway(gatewayConfig({ PREFECT_SERVER__SERVICES__GATEWAY__MODE: "distributed", ...env }), log, { retryMs: 200 });
  return { url: `http://127.0.0.1:${gateway.address.port}`, gateway, stop: () => gateway.stop() };
}

/** A seeded database and one stack per mode for the whole file. */
export function useStacks(env: Record<string, string> = {}): Record<Mode, Stack> & { db: ReturnType<typeof useTestDatabase> } {
  const db = useTestDatabase();
  const stacks: Partial<Record<Mode, Stack>> = {};
  beforeAll(async () => {
    await seed(db.pool);
    for (const mode of MODES) stacks[mode] = await startStack(mode, db.url, env);
  });
  afterAll(async () => {
    for (const mode of MODES) await stacks[mode]?.stop();
  });
  const get = (mode: Mode) => {
    const stack = stacks[mode];
    if (!stack) throw new Error("the stacks exist only inside tests");
    return stack;
  };
  return {
    db,
    get in_process() {
      return get("in_process");
    },
    get distributed() {
      return get("distributed");
    },
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/**
 * Checks that the playground page at `base + path` works offline: everything it references and everything that
 * loads (scripts, workers, lazily loaded chunks) comes from `base`, and no asset fetches from another host.
 */
export async function expectPlaygroundOffline(base: string, path: string): Promise<void> {
  const page = await fetch(`${base}${path}`, { headers: { accept: "text/html" } });
  expect(page.status).toBe(200);
  const html = await page.text();
  // every URL the HTML references for loading (src, href, module imports, workers) is on this server
  const references = [...html.matchAll(/(?:src|href)="([^"]+)"|from "([^"]+)"|new URL\("([^"]+)"/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  expect(references.length).toBeGreaterThan(2);
  expect(references.filter((ref) => /^(https?:)?\/\//.test(ref))).toEqual([]);
  const workers = [...html.matchAll(/worker\("([^"]+)"\)/g)].map((m) => `/ruru-static/${m[1]}`);
  const assets = new Set([...references.filter((ref) => ref.startsWith("/ruru-static/") && ref !== "/ruru-static/"), ...workers]);
  expect(assets.size).toBeGreaterThanOrEqual(5);
  for (const asset of assets) {
    const response = await fetch(`${base}${asset}`);
    expect(response.status, asset).toBe(200);
    const text = await response.text();
    // no code that loads from another host: no absolute-URL import(), import … from, url() or fetch()
    expect(text.match(/(?:import\s*\(|from\s*|url\(\s*|fetch\(\s*)["'`]?(?:https?:)?\/\/[a-z0-9.-]+/gi) ?? [], asset).toEqual([]);
    // chunks the bundle loads lazily must be served too
    for (const chunk of new Set([...text.matchAll(/["'`](\d+\.js)["'`]/g)].map((m) => m[1]!))) {
      expect((await fetch(`${base}/ruru-static/${chunk}`)).status, chunk).toBe(200);
    }
  }
}
