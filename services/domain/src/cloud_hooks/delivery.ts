// Delivering one cloud-hook event to one hook, by its type (docs/v1-compatibility.md, Cloud hooks): WEBHOOK,
// SLACK_WEBHOOK, TWILIO, PAGERDUTY, PREFECT_MESSAGE. A failed delivery throws; the worker (worker.ts) lets BullMQ try
// again.
import type { Pool, PoolClient } from "../../../shared/src/database/pool.ts";
import type { Json } from "../inputs.ts";
import { createHash } from "node:crypto";
import type { CloudHookEvent } from "./events.ts";

type Queryable = Pool | PoolClient;

export const CLOUD_HOOK_TYPES = ["WEBHOOK", "SLACK_WEBHOOK", "TWILIO", "PAGERDUTY", "PREFECT_MESSAGE"] as const;
export type CloudHookType = (typeof CLOUD_HOOK_TYPES)[number];

export interface CloudHookRow {
  id: string;
  tenant_id: string;
  type: string;
  config: Json;
  active: boolean;
}

export async function loadHook(db: Queryable, hookId: string): Promise<CloudHookRow | undefined> {
  const { rows } = await db.query<CloudHookRow>("SELECT id, tenant_id, type, config, active FROM cloud_hook WHERE id = $1", [hookId]);
  return rows[0];
}

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

/** The id of the message one delivery writes: a UUID (version 8, name-based) of the event and the hook. */
export function messageId(eventId: string, hookId: string | undefined): string {
  const bytes = createHash("sha256").update(`${eventId}.${hookId ?? ""}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
export async function deliverCloudHook(hook: Pick<CloudHookRow, "type" | "config" | "tenant_id"> & { id?: string }, event: CloudHookEvent, context: DeliveryContext): Promise<void> {
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
      // a delivery repeated (at least once: outbox.ts) writes the same message id, so the tenant gets one message
      await context.db.query(
        "INSERT INTO message (id, tenant_id, type, content) VALUES ($1, $2, 'CLOUD_HOOK', $3) ON CONFLICT (id) DO NOTHING",
        [messageId(event.id, hook.id), hook.tenant_id, JSON.stringify({ event, type: "CLOUD_HOOK" })],
      );
      return;
    default:
      throw new Error(`unknown cloud hook type ${JSON.stringify(hook.type)}`);
  }
}

