// Cloud hooks, the mutations (docs/v1-compatibility.md, Cloud hooks): create_cloud_hook checks its input in v1's order
// and with v1's texts (states stored uppercased and deduped); delete and (de)activate; test_cloud_hook builds a test
// event and delivers it inline (delivery.ts), reporting `{success, error}`. Firing on state changes is events.ts,
// delivering an event delivery.ts, the queue worker worker.ts.
import { randomUUID } from "node:crypto";
import type { Pool, PoolClient } from "../../../shared/src/database/pool.ts";
import { ApiError } from "../errors.ts";
import { isObject, type Json } from "../inputs.ts";
import { randomRunName } from "../names.ts";
import { STATE_NAMES } from "../state_classes.ts";
import { serializedState } from "../states.ts";
import { CLOUD_HOOK_TYPES, deliverCloudHook, loadHook, type CloudHookRow, type CloudHookType, type DeliveryEndpoints } from "./delivery.ts";
import type { CloudHookEvent, CloudHookFlow, CloudHookTenant } from "./events.ts";

type Queryable = Pool | PoolClient;

export const PAGERDUTY_SEVERITIES = ["info", "warning", "error", "critical"] as const;

export const INVALID_TENANT = "Invalid tenant ID";
export const INVALID_STATES = "Invalid states";
export const INVALID_TYPE = "Invalid cloud hook type";
export const INVALID_URL_CONFIG = "Invalid config; expected `url`";
export const INVALID_TWILIO_CONFIG = "Invalid config; expected `account_sid`, `auth_token`, `messaging_service_sid`, and `to`";
export const INVALID_PAGERDUTY_CONFIG = "Invalid config; expected `api_token`, `routing_key`, & `severity`";
export const INVALID_SEVERITY = "Invalid config; severity must be one of {info, warning, error, critical}";
export const INVALID_ID = "Invalid ID";


/** Every state class name uppercased: what a hook's `states` may hold. */
const HOOK_STATES = new Set(STATE_NAMES.map((name) => name.toUpperCase()));

/** True when `config` is an object with exactly these keys. */
const hasExactly = (config: unknown, keys: readonly string[]): config is Json =>
  isObject(config) && Object.keys(config).length === keys.length && keys.every((key) => Object.hasOwn(config, key));

/** Checks a hook's config for its type; returns what is stored. */
export function validateConfig(type: CloudHookType, config: unknown): Json {
  switch (type) {
    case "WEBHOOK":
    case "SLACK_WEBHOOK":
      if (!hasExactly(config, ["url"])) throw new ApiError(INVALID_URL_CONFIG);
      return config;
    case "TWILIO": {
      if (!hasExactly(config, ["account_sid", "auth_token", "messaging_service_sid", "to"])) throw new ApiError(INVALID_TWILIO_CONFIG);
      const to = config.to;
      if (!Array.isArray(to) || to.length === 0) throw new ApiError(INVALID_TWILIO_CONFIG);
      return config;
    }
    case "PAGERDUTY":
      if (!hasExactly(config, ["api_token", "routing_key", "severity"])) throw new ApiError(INVALID_PAGERDUTY_CONFIG);
      if (!(PAGERDUTY_SEVERITIES as readonly unknown[]).includes(config.severity)) throw new ApiError(INVALID_SEVERITY);
      return config;
    case "PREFECT_MESSAGE":
      // Not checked (v1); an omitted config is stored as {} (v1 wrote NULL into the NOT NULL column and failed).
      return isObject(config) ? config : {};
  }
}

export interface CreateCloudHookInput {
  tenant_id?: string | null;
  type?: string | null;
  name?: string | null;
  version_group_id?: string | null;
  states?: unknown;
  config?: unknown;
}

/** The states of a new hook: uppercased, deduplicated (first occurrence kept), every one a Core state class. */
export function normaliseStates(states: unknown): string[] {
  if (!Array.isArray(states) || states.length === 0) throw new ApiError(INVALID_STATES);
  const normalised = [...new Set(states.map((state) => (typeof state === "string" ? state.toUpperCase() : "")))];
  if (!normalised.every((state) => HOOK_STATES.has(state))) throw new ApiError(INVALID_STATES);
  return normalised;
}

/** create_cloud_hook: validations in v1's order; the hook starts active. Returns its id. */
export async function createCloudHook(db: Queryable, input: CreateCloudHookInput): Promise<string> {
  if (!input.tenant_id) throw new ApiError(INVALID_TENANT);
  const states = normaliseStates(input.states);
  const type = input.type;
  if (!(CLOUD_HOOK_TYPES as readonly unknown[]).includes(type)) throw new ApiError(INVALID_TYPE);
  const config = validateConfig(type as CloudHookType, input.config);
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO cloud_hook (tenant_id, name, type, states, config, version_group_id, active)
     VALUES ($1, $2, $3, $4, $5, $6, true) RETURNING id`,
    [input.tenant_id, input.name ?? null, type, JSON.stringify(states), JSON.stringify(config), input.version_group_id ?? null],
  );
  return rows[0]!.id;
}

/** delete_cloud_hook: false for an unknown hook. */
export async function deleteCloudHook(db: Queryable, hookId: string | null | undefined): Promise<boolean> {
  if (!hookId) throw new ApiError(INVALID_ID);
  const { rowCount } = await db.query("DELETE FROM cloud_hook WHERE id = $1", [hookId]);
  return rowCount === 1;
}

/** set_cloud_hook_active / set_cloud_hook_inactive: false for an unknown hook. */
export async function setCloudHookActive(db: Queryable, hookId: string | null | undefined, active: boolean): Promise<boolean> {
  if (!hookId) throw new ApiError(INVALID_ID);
  const { rowCount } = await db.query("UPDATE cloud_hook SET active = $2 WHERE id = $1", [hookId, active]);
  return rowCount === 1;
}


/** Where TWILIO and PAGERDUTY deliveries go (tests point them at a local server). */

export const TEST_STATE_TYPES: Record<string, string> = {
  SCHEDULED: "Scheduled",
  SUBMITTED: "Submitted",
  SUCCESS: "Success",
  RUNNING: "Running",
  FAILED: "Failed",
};

export interface TestCloudHookInput {
  cloud_hook_id?: string | null;
  flow_run_id?: string | null;
  state_type?: string | null;
}

/** The event test_cloud_hook sends: about a real run when one is given, else about a made-up one. */
async function testEvent(db: Queryable, hook: CloudHookRow, input: TestCloudHookInput): Promise<CloudHookEvent> {
  const type = TEST_STATE_TYPES[input.state_type ?? "SUCCESS"] ?? "Success";
  const state = { version: 1, state: type, serialized_state: serializedState(type, `Test ${type} state`) };
  const base = { id: randomUUID(), timestamp: new Date().toISOString().replace("Z", "+00:00"), type: "FlowRunStateChange" as const, state };
  if (input.flow_run_id) {
    const { rows } = await db.query<{ id: string; state: string | null; name: string | null; version: number; flow: CloudHookFlow; tenant: CloudHookTenant }>(
      `SELECT fr.id, fr.state, fr.name, fr.version,
         jsonb_build_object('id', f.id, 'name', f.name, 'flow_group_id', f.flow_group_id, 'version_group_id', f.version_group_id) AS flow,
         jsonb_build_object('id', t.id, 'slug', t.slug) AS tenant
       FROM flow_run fr JOIN flow f ON f.id = fr.flow_id JOIN tenant t ON t.id = fr.tenant_id WHERE fr.id = $1`,
      [input.flow_run_id],
    );
    const run = rows[0];
    if (!run) throw new Error(`Invalid flow run ID: ${input.flow_run_id}`);
    const flowRun = { id: run.id, state: run.state, name: run.name, version: run.version + 1, flow: run.flow, tenant: run.tenant };
    return { ...base, flow_run: flowRun, flow: run.flow, tenant: run.tenant, is_test_event: false };
  }
  const flow: CloudHookFlow = { id: randomUUID(), name: "Cloud Hook Test Flow", flow_group_id: randomUUID(), version_group_id: randomUUID() };
  const tenant: CloudHookTenant = { id: hook.tenant_id, slug: "test-slug" };
  const flowRun = { id: randomUUID(), state: null, name: randomRunName(), version: 1, flow, tenant };
  return { ...base, flow_run: flowRun, flow, tenant, is_test_event: true };
}

/**
 * test_cloud_hook: sends a test event to that one hook, inline (no queue, no retry). Any failure is reported as
 * `{success: false, error}`.
 */
export async function testCloudHook(
  db: Queryable,
  input: TestCloudHookInput,
  context: { apiUrl: string; endpoints?: Partial<DeliveryEndpoints> },
): Promise<{ success: boolean; error: string | null }> {
  try {
    const hook = input.cloud_hook_id ? await loadHook(db, input.cloud_hook_id) : undefined;
    if (!hook) throw new Error(INVALID_ID);
    await deliverCloudHook(hook, await testEvent(db, hook, input), { db, apiUrl: context.apiUrl, endpoints: context.endpoints });
    return { success: true, error: null };
  } catch (error) {
    return { success: false, error: (error as Error).message || String(error) };
  }
}
