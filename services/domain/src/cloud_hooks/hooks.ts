// Cloud hooks (spec §3.3 "Cloud hooks"): the five mutations, and delivering a hook's event to its target.
//
// - create_cloud_hook checks its input in v1's order and with v1's texts; states are stored uppercased and deduped.
// - Firing on flow-run state changes is in cloud_hook_events.ts (matching in the state-writing statements, one
//   BullMQ job per (event, hook) after commit).
// - Delivery: `cloudHookWorker()` is the processor of the `cloud-hooks` queue, run by the towel (its worker
//   registry); `deliverCloudHook` sends one event to one hook: WEBHOOK, SLACK_WEBHOOK, TWILIO, PAGERDUTY,
//   PREFECT_MESSAGE. A failed delivery throws, and BullMQ tries again with exponential backoff.
// - test_cloud_hook builds a test event and delivers it inline, reporting `{success, error}`.
import { randomUUID } from "node:crypto";
import type { Config } from "../../../shared/src/config.ts";
import type { Pool, PoolClient } from "../../../shared/src/database/pool.ts";
import { ApiError } from "../errors.ts";
import type { Logger } from "../../../shared/src/logger.ts";
import { STATE_NAMES } from "../state_classes.ts";
import { CLOUD_HOOK_QUEUE, type CloudHookEvent, type CloudHookFlow, type CloudHookJobData, type CloudHookTenant } from "./events.ts";
import { randomRunName } from "../names.ts";
import { serializedState } from "../states.ts";
import { isObject, type Json } from "../inputs.ts";

export { CLOUD_HOOK_QUEUE };

type Queryable = Pool | PoolClient;

export const CLOUD_HOOK_TYPES = ["WEBHOOK", "SLACK_WEBHOOK", "TWILIO", "PAGERDUTY", "PREFECT_MESSAGE"] as const;
export type CloudHookType = (typeof CLOUD_HOOK_TYPES)[number];

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

// ---- delivery -------------------------------------------------------------------------------------------------

export interface CloudHookRow {
  id: string;
  tenant_id: string;
  type: string;
  config: Json;
  active: boolean;
}

async function loadHook(db: Queryable, hookId: string): Promise<CloudHookRow | undefined> {
  const { rows } = await db.query<CloudHookRow>("SELECT id, tenant_id, type, config, active FROM cloud_hook WHERE id = $1", [hookId]);
  return rows[0];
}

/** Where TWILIO and PAGERDUTY deliveries go (tests point them at a local server). */
export interface DeliveryEndpoints {
  /** Base URL of Twilio's REST API. */
  twilio: string;
  /** PagerDuty's Events API v2 enqueue URL. */
  pagerDuty: string;
}

export const DEFAULT_ENDPOINTS: DeliveryEndpoints = {
  twilio: "https://api.twilio.com",
  pagerDuty: "https://events.pagerduty.com/v2/enqueue",
};

/** Request timeouts per hook type (v1: 2 s for webhooks, 1 s for Slack). */
export const DELIVERY_TIMEOUT_MS: Record<CloudHookType, number> = {
  WEBHOOK: 2_000,
  SLACK_WEBHOOK: 1_000,
  TWILIO: 5_000,
  PAGERDUTY: 5_000,
  PREFECT_MESSAGE: 5_000,
};

export interface DeliveryContext {
  db: Queryable;
  /** `api.url`, the base of the flow-run links. */
  apiUrl: string;
  endpoints?: Partial<DeliveryEndpoints>;
}

/** `<api.url>/<tenant slug>/flow-run/<id>`: the run in the UI. */
export const flowRunLink = (apiUrl: string, event: CloudHookEvent): string =>
  `${apiUrl.replace(/\/+$/, "")}/${event.tenant.slug}/flow-run/${event.flow_run.id}`;

async function post(url: string, type: CloudHookType, init: { headers: Record<string, string>; body: string }): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", ...init, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS[type]) });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${type} delivery to ${url} failed: ${(error as Error).message}${cause ? ` (${cause})` : ""}`, { cause: error });
  }
  // Drain the body so the connection can be reused.
  const text = await response.text().catch(() => "");
  if (!response.ok) throw new Error(`${type} delivery to ${url} failed: HTTP ${response.status}${text ? ` ${text.slice(0, 200)}` : ""}`);
}

const json = (body: unknown) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** The Slack message of an event: blocks of Slack's mrkdwn. */
export function slackMessage(event: CloudHookEvent, link: string): Json {
  const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
  return {
    blocks: [
      section(`Run \`${event.flow_run.name ?? event.flow_run.id}\` of flow \`${event.flow.name}\` entered a new state:`),
      section(`*State:* \`${event.state.state}\``),
      section(`*Message:* ${event.state.message ?? ""}`),
      section(`*Link:* ${link}`),
    ],
  };
}

/** The text of an SMS (TWILIO). */
export function smsText(event: CloudHookEvent, link: string): string {
  const message = event.state.message ? ` ${event.state.message}` : "";
  return `Run ${event.flow_run.name ?? event.flow_run.id} of flow ${event.flow.name} entered a new state: ${event.state.state}.${message} ${link}`;
}

/** The PagerDuty Events API v2 event (the event id as dedup key, so a retried delivery opens no second incident). */
export function pagerDutyEvent(event: CloudHookEvent, config: Json, link: string): Json {
  return {
    routing_key: config.routing_key,
    event_action: "trigger",
    dedup_key: event.id,
    payload: {
      summary: `Run ${event.flow_run.name ?? event.flow_run.id} of flow ${event.flow.name} entered a new state: ${event.state.state}`,
      severity: config.severity,
      source: `cloud.prefect.io/${event.tenant.slug}`,
      component: event.flow.name,
      group: event.flow_run.name ?? event.flow_run.id,
      class: `State->${event.state.state}`,
      custom_details: { message: event.state.message ?? null, flow_run_id: event.flow_run.id, flow_id: event.flow.id, event_id: event.id },
    },
    links: [{ href: link, text: "Flow run" }],
  };
}

/** Sends one event to one hook. Throws when the target refused or could not be reached. */
export async function deliverCloudHook(hook: Pick<CloudHookRow, "type" | "config" | "tenant_id">, event: CloudHookEvent, context: DeliveryContext): Promise<void> {
  const endpoints = { ...DEFAULT_ENDPOINTS, ...context.endpoints };
  const link = flowRunLink(context.apiUrl, event);
  const config = hook.config;
  switch (hook.type as CloudHookType) {
    case "WEBHOOK":
      await post(String(config.url), "WEBHOOK", {
        headers: { "content-type": "application/json", "X-PREFECT-EVENT-ID": event.id },
        body: JSON.stringify({ event }),
      });
      return;
    case "SLACK_WEBHOOK":
      await post(String(config.url), "SLACK_WEBHOOK", json(slackMessage(event, link)));
      return;
    case "TWILIO": {
      const sid = String(config.account_sid);
      const url = `${endpoints.twilio.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
      const auth = `Basic ${Buffer.from(`${sid}:${String(config.auth_token)}`).toString("base64")}`;
      for (const to of config.to as unknown[]) {
        const body = new URLSearchParams({ To: String(to), From: String(config.messaging_service_sid), Body: smsText(event, link) });
        await post(url, "TWILIO", { headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth }, body: body.toString() });
      }
      return;
    }
    case "PAGERDUTY":
      await post(endpoints.pagerDuty, "PAGERDUTY", {
        headers: { "content-type": "application/json", authorization: `Token token=${String(config.api_token)}` },
        body: JSON.stringify(pagerDutyEvent(event, config, link)),
      });
      return;
    case "PREFECT_MESSAGE":
      await context.db.query("INSERT INTO message (tenant_id, type, content) VALUES ($1, 'CLOUD_HOOK', $2)", [
        hook.tenant_id,
        JSON.stringify({ event, type: "CLOUD_HOOK" }),
      ]);
      return;
    default:
      throw new Error(`unknown cloud hook type ${JSON.stringify(hook.type)}`);
  }
}

// ---- the delivery worker ------------------------------------------------------------------------------------

/** The part of a BullMQ job the delivery worker reads. */
export interface DeliveryJob {
  id?: string;
  data: Record<string, unknown>;
  /** Attempts that failed before this one. */
  attemptsMade?: number;
  opts?: { attempts?: number };
}

export interface CloudHookWorkerDeps {
  db: Pool;
  config: Config;
  log: Logger;
}

/** A queue worker for the towel's registry: no job scheduler, jobs come from the state writers. */
export interface CloudHookWorker {
  name: string;
  queue: string;
  /** Deliveries one process sends at once. */
  concurrency: number;
  process(job: DeliveryJob, deps: CloudHookWorkerDeps): Promise<{ delivered: boolean }>;
}

export const CLOUD_HOOK_WORKER_CONCURRENCY = 10;

/** The processor of the `cloud-hooks` queue. A failed delivery throws, so BullMQ retries it (attempts, backoff). */
export function cloudHookWorker(options: { endpoints?: Partial<DeliveryEndpoints> } = {}): CloudHookWorker {
  return {
    name: "CloudHookDelivery",
    queue: CLOUD_HOOK_QUEUE,
    concurrency: CLOUD_HOOK_WORKER_CONCURRENCY,
    async process(job, { db, config, log }) {
      const { event, hook_id: hookId } = job.data as CloudHookJobData;
      const fields = { job_id: job.id, cloud_hook_id: hookId, event_id: event.id, flow_run_id: event.flow_run.id };
      const hook = await loadHook(db, hookId);
      if (!hook || !hook.active) {
        log.info(fields, `Cloud hook ${hookId} was ${hook ? "deactivated" : "deleted"} before its delivery; event ${event.id} dropped.`);
        return { delivered: false };
      }
      const attempt = (job.attemptsMade ?? 0) + 1;
      const attempts = job.opts?.attempts ?? 1;
      try {
        await deliverCloudHook(hook, event, { db, apiUrl: config.api.url, endpoints: options.endpoints });
      } catch (error) {
        const last = attempt >= attempts;
        const text = `Cloud hook ${hookId} (${hook.type}) for flow run ${event.flow_run.id} failed, attempt ${attempt} of ${attempts}` +
          `${last ? "; giving up" : "; will retry"}: ${(error as Error).message}`;
        if (last) log.error({ ...fields, attempt }, text);
        else log.warn({ ...fields, attempt }, text);
        throw error;
      }
      log.info({ ...fields, attempt, type: hook.type }, `Delivered cloud hook ${hookId} (${hook.type}) for flow run ${event.flow_run.id}: ${event.state.state}.`);
      return { delivered: true };
    },
  };
}

// ---- test_cloud_hook --------------------------------------------------------------------------------------------

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
