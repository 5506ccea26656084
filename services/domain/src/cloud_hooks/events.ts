// Cloud-hook events of flow-run state changes (docs/v1-compatibility.md, Cloud hooks): v1's event, its delivery job
// and the queue it goes through. How a state change becomes a delivery, durably, is in outbox.ts; how one is sent,
// in delivery.ts and worker.ts.
import { type Json } from "../inputs.ts";

/** The queue the deliveries go through (the backend adds queue.prefix). */
export const CLOUD_HOOK_QUEUE = "cloud-hooks";
/** The name of every delivery job. */
export const CLOUD_HOOK_JOB = "deliver";
/** Attempts per delivery (the first included), and the first retry delay (doubling each time: 1, 2, 4, 8 s). */
export const CLOUD_HOOK_ATTEMPTS = 5;
export const CLOUD_HOOK_BACKOFF_MS = 1_000;
/** Delivered jobs are kept a day, so that enqueueing the same delivery again within a day stays a no-op. */
export const KEEP_DELIVERED_SECONDS = 86_400;
export const KEEP_FAILED_DELIVERIES = 1_000;

/** v1's FlowRunStateChange event. */
export interface CloudHookEvent extends Json {
  id: string;
  timestamp: string;
  type: "FlowRunStateChange";
  flow_run: { id: string; state: string | null; name: string | null; version: number; flow: CloudHookFlow; tenant: CloudHookTenant };
  state: Json & { state: string; message?: string | null };
  flow: CloudHookFlow;
  tenant: CloudHookTenant;
  is_test_event: boolean;
}

export interface CloudHookFlow extends Json {
  id: string;
  name: string;
  flow_group_id: string | null;
  version_group_id: string | null;
}

export interface CloudHookTenant extends Json {
  id: string;
  slug: string;
}

/** What a delivery job carries: the event and the hook's id (the hook's type and config are read at delivery). */
export interface CloudHookJobData extends Json {
  event: CloudHookEvent;
  hook_id: string;
}

/** The BullMQ job id of one delivery (BullMQ refuses `:` in custom ids). */
export const deliveryJobId = (eventId: string, hookId: string): string => `${eventId}.${hookId}`;
