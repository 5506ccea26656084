/* eslint-disable @typescript-eslint/no-explicit-any -- tests read GraphQL results field by field; their shape is what they assert */
// Test harness for the mutations service: a fresh database per test file (useTestDatabase) and the service built on
// it, driven through Apollo's executeOperation (or HTTP, see listen()).
import { afterAll, beforeAll } from "vitest";
import { pino } from "pino";
import { loadConfig, type Config } from "../../services/shared/src/config.ts";
import { createPool, type Pool } from "../../services/shared/src/database/pool.ts";
import { createMutationsService, type MutationsService } from "../../services/mutations/src/server.ts";
import { useTestDatabase } from "../helpers/database.ts";

export interface GraphqlResult<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface MutationsHarness {
  readonly db: Pool;
  /** The test database's connection string (for a second service on the same database). */
  readonly url: string;
  readonly service: MutationsService;
  readonly config: Config;
  /** Runs one operation; `headers` become the request's headers. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphqlResult<T>>;
  /** Like gql, but fails the test on any GraphQL error and returns data. */
  ok<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<T>;
  /** The first error message of an operation that must fail. */
  error(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<string>;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ env, ignoreUserFile: true });
}

/**
 * `env`: configuration for the service (e.g. the queue prefix of a test's Redis). `poolSize`: the service gets a pool
 * of its own with that many connections (default: it shares the test database's pool of 5).
 */
export function useMutations(options: { env?: Record<string, string>; poolSize?: number } = {}): MutationsHarness {
  const database = useTestDatabase();
  const config = testConfig(options.env);
  let service: MutationsService | undefined;
  let ownPool: Pool | undefined;
  beforeAll(async () => {
    if (options.poolSize !== undefined) ownPool = createPool(database.url, options.poolSize);
    const db = ownPool ?? database.pool;
    service = await createMutationsService({ db, config, log: pino({ level: process.env.MUTATIONS_TEST_LOG ?? "silent" }) });
  });
  afterAll(async () => {
    await service?.stop();
    await ownPool?.end();
  });
  const harness: MutationsHarness = {
    get db() {
      return database.pool;
    },
    get url() {
      return database.url;
    },
    get service() {
      if (!service) throw new Error("the service exists only inside tests");
      return service;
    },
    config,
    async gql(query, variables, headers) {
      const response = await harness.service.apollo.executeOperation(
        { query, variables },
        { contextValue: harness.service.context(headers) },
      );
      if (response.body.kind !== "single") throw new Error("unexpected incremental response");
      return response.body.singleResult as GraphqlResult<any>;
    },
    async ok(query, variables, headers) {
      const result = await harness.gql(query, variables, headers);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as any;
    },
    async error(query, variables, headers) {
      const result = await harness.gql(query, variables, headers);
      if (!result.errors?.length) throw new Error(`expected an error, got ${JSON.stringify(result.data)}`);
      return result.errors[0]!.message;
    },
  };
  return harness;
}

// ---- fixtures ------------------------------------------------------------------------------------------------

let counter = 0;
export const unique = (prefix: string): string => `${prefix}-${process.pid}-${++counter}`;

export async function createTenant(h: MutationsHarness, slug = unique("tenant")): Promise<string> {
  const data = await h.ok(`mutation($input: create_tenant_input!) { create_tenant(input: $input) { id } }`, {
    input: { name: slug, slug },
  });
  return data.create_tenant.id;
}

export async function createProject(h: MutationsHarness, tenantId: string, name = unique("project")): Promise<string> {
  const data = await h.ok(`mutation($input: create_project_input!) { create_project(input: $input) { id } }`, {
    input: { tenant_id: tenantId, name },
  });
  return data.create_project.id;
}

export interface FlowOptions {
  name?: string;
  tasks?: Record<string, unknown>[];
  edges?: Record<string, unknown>[];
  parameters?: Record<string, unknown>[];
  run_config?: Record<string, unknown> | null;
  environment?: Record<string, unknown> | null;
  schedule?: Record<string, unknown> | null;
  version_group_id?: string;
  idempotency_key?: string | null;
  set_schedule_active?: boolean;
  __version__?: string;
  extra?: Record<string, unknown>;
}

/** A serialized Core flow with the given parts (tasks by slug). */
export function serializedFlow(options: FlowOptions = {}): Record<string, unknown> {
  return {
    name: options.name ?? unique("flow"),
    type: "prefect.core.flow.Flow",
    tasks: options.tasks ?? [],
    edges: options.edges ?? [],
    parameters: options.parameters ?? [],
    reference_tasks: [],
    schedule: options.schedule ?? null,
    environment: options.environment ?? null,
    run_config: options.run_config ?? null,
    storage: { type: "Local", directory: "/tmp" },
    __version__: options.__version__ ?? "1.4.1",
    ...options.extra,
  };
}

export const task = (slug: string, extra: Record<string, unknown> = {}) => ({
  slug,
  name: slug,
  type: "prefect.core.task.Task",
  tags: [],
  max_retries: 0,
  retry_delay: null,
  trigger: { fn: "prefect.triggers.all_successful" },
  cache_key: null,
  auto_generated: false,
  ...extra,
});

export const edge = (upstream: string, downstream: string, extra: Record<string, unknown> = {}) => ({
  upstream_task: { slug: upstream },
  downstream_task: { slug: downstream },
  key: null,
  mapped: false,
  ...extra,
});

export async function createFlow(h: MutationsHarness, projectId: string, options: FlowOptions = {}): Promise<string> {
  const input: Record<string, unknown> = { project_id: projectId, serialized_flow: serializedFlow(options) };
  if (options.version_group_id !== undefined) input.version_group_id = options.version_group_id;
  if (options.idempotency_key !== undefined) input.idempotency_key = options.idempotency_key;
  input.set_schedule_active = options.set_schedule_active ?? false;
  const data = await h.ok(`mutation($input: create_flow_input!) { create_flow(input: $input) { id } }`, { input });
  return data.create_flow.id;
}

export async function createFlowRun(h: MutationsHarness, input: Record<string, unknown>): Promise<string> {
  const data = await h.ok(`mutation($input: create_flow_run_input!) { create_flow_run(input: $input) { id } }`, { input });
  return data.create_flow_run.id;
}

export const SET_FLOW_RUN_STATES = `mutation($input: set_flow_run_states_input!) {
  set_flow_run_states(input: $input) { states { id status message } } }`;
export const SET_TASK_RUN_STATES = `mutation($input: set_task_run_states_input!) {
  set_task_run_states(input: $input) { states { id status message } } }`;

export const state = (type: string, extra: Record<string, unknown> = {}) => ({ type, message: `${type} state`, ...extra });

export async function setFlowRunState(h: MutationsHarness, flowRunId: string, type: string, extra: Record<string, unknown> = {}, headers?: Record<string, string>) {
  return h.ok(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: flowRunId, state: state(type, extra) }] } }, headers);
}

export async function setTaskRunState(h: MutationsHarness, taskRunId: string, type: string, extra: Record<string, unknown> = {}) {
  return h.ok(SET_TASK_RUN_STATES, { input: { states: [{ task_run_id: taskRunId, state: state(type, extra) }] } });
}

/** A tenant, a project and a flow with the given tasks. */
export async function setupFlow(h: MutationsHarness, options: FlowOptions = {}) {
  const tenantId = await createTenant(h);
  const projectId = await createProject(h, tenantId);
  const flowId = await createFlow(h, projectId, options);
  return { tenantId, projectId, flowId };
}
