// The outbox of cloud-hook deliveries (docs/operations.md, "Cloud hooks"). v1 looked the hooks up and sent them from
// a fire-and-forget coroutine after each state write, so a crash lost them; queueing them after the commit loses
// them too when the process dies or the queue store is unreachable in between. Instead:
// 1. every flow-run state row that a cloud hook matches gets one outbox row per hook, written by a trigger on
//    flow_run_state (migration 000007) in the state's own transaction: a committed state change always owes its
//    deliveries, whichever statement wrote it (the API, the towel, a table mutation);
// 2. the relay (relayOutbox, run by every towel replica; rows are claimed with SKIP LOCKED) builds v1's event of each
//    pending row and adds one BullMQ job per row to the `cloud-hooks` queue, job id `<event id>.<hook id>` (adding
//    it again while the job exists is a no-op), and records when it did;
// 3. the delivery worker (worker.ts) marks the row done once it is delivered, dropped (hook deactivated or
//    deleted) or given up. A row enqueued but not done after REENQUEUE_AFTER_SECONDS is enqueued again: its job may
//    have been lost with the queue store (a Redis restarted without persistence).
// Delivery is therefore at least once: a receiver can see an event twice (a worker killed between sending and
// marking; a job re-added after the queue store lost its record of delivery) and tells them apart by the event id
// (X-PREFECT-EVENT-ID; the state row's id).
import { deleteInBatches } from "../../../shared/src/database/batches.ts";
import { withTransaction, type Pool } from "../../../shared/src/database/pool.ts";
import type { JobProducer } from "../../../shared/src/queues.ts";
import {
  CLOUD_HOOK_ATTEMPTS,
  CLOUD_HOOK_BACKOFF_MS,
  CLOUD_HOOK_JOB,
  KEEP_DELIVERED_SECONDS,
  KEEP_FAILED_DELIVERIES,
  deliveryJobId,
  type CloudHookEvent,
  type CloudHookJobData,
} from "./events.ts";

/** Rows one relay pass moves at most (a pass that moved this many is followed by another at once). */
export const RELAY_BATCH_SIZE = 500;
/**
 * A delivery enqueued this long ago and not done is enqueued again. Longer than a delivery's own retries take
 * (CLOUD_HOOK_ATTEMPTS with backoff and the delivery timeouts: well under a minute); a job still in the queue (a
 * backlog while no towel delivers) makes the second add a no-op.
 */
export const REENQUEUE_AFTER_SECONDS = 120;
/** Done rows are kept this long (for inspection), then pruned. */
export const KEEP_DONE_SECONDS = 3_600;
/** Rows one pruning statement deletes at most, so that it never holds many row locks for long. */
const PRUNE_BATCH_SIZE = 5_000;

export type DeliveryOutcome = "delivered" | "dropped" | "failed";

const iso = (expression: string) => `to_char((${expression}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')`;

// Claims up to $1 pending rows (never enqueued, or enqueued before $3, by default $2 seconds ago) and builds v1's
// event of each:
// the run's previous state and version are those of the state row before this one. The event is null when the state
// row is gone (its run was deleted).
const CLAIM_SQL = `
SELECT o.id::text, o.hook_id::text, CASE WHEN s.id IS NOT NULL THEN jsonb_build_object(
  'id', s.id, 'timestamp', ${iso("s.timestamp")}, 'type', 'FlowRunStateChange',
  'flow_run', jsonb_build_object('id', fr.id, 'state', prev.state, 'name', fr.name, 'version', s.version - 1,
                                 'flow', flow.obj, 'tenant', tenant.obj),
  'state', jsonb_build_object('id', s.id, 'flow_run_id', s.flow_run_id, 'version', s.version, 'state', s.state,
                              'timestamp', ${iso("s.timestamp")}, 'message', s.message, 'result', s.result,
                              'start_time', ${iso("s.start_time")}, 'serialized_state', s.serialized_state),
  'flow', flow.obj, 'tenant', tenant.obj, 'is_test_event', false) END AS event
FROM (
  SELECT id, state_id, hook_id FROM internal.outbox
  WHERE done IS NULL AND (enqueued IS NULL OR enqueued < COALESCE($3::timestamptz, now() - make_interval(secs => $2)))
  ORDER BY id LIMIT $1
  FOR UPDATE SKIP LOCKED
) o
LEFT JOIN flow_run_state s ON s.id = o.state_id
LEFT JOIN flow_run fr ON fr.id = s.flow_run_id
LEFT JOIN flow f ON f.id = fr.flow_id
LEFT JOIN tenant t ON t.id = fr.tenant_id
LEFT JOIN LATERAL (SELECT jsonb_build_object('id', f.id, 'name', f.name, 'flow_group_id', f.flow_group_id,
                                             'version_group_id', f.version_group_id) AS obj) flow ON true
LEFT JOIN LATERAL (SELECT jsonb_build_object('id', t.id, 'slug', t.slug) AS obj) tenant ON true
LEFT JOIN LATERAL (SELECT p.state FROM flow_run_state p WHERE p.flow_run_id = s.flow_run_id AND p.version < s.version
                   ORDER BY p.version DESC LIMIT 1) prev ON true
ORDER BY o.id`;

// $1 the rows enqueued, $2 the rows dropped (their state is gone)
const RELAYED_SQL = `
UPDATE internal.outbox SET enqueued = now(),
  done = CASE WHEN id = ANY($2::bigint[]) THEN now() END,
  outcome = CASE WHEN id = ANY($2::bigint[]) THEN 'dropped' END
WHERE id = ANY($1::bigint[]) OR id = ANY($2::bigint[])`;

export interface RelayOptions {
  /** Enqueue again a row enqueued this long ago and not done (default REENQUEUE_AFTER_SECONDS). */
  reenqueueAfterSeconds?: number;
  /** Enqueue again every row enqueued before this instant (the queue store lost its jobs), instead. */
  reenqueueEnqueuedBefore?: Date;
}

export interface RelayResult {
  /** Rows whose delivery job was added (or already there). */
  enqueued: number;
  /** Rows whose state row is gone: nothing to deliver. */
  dropped: number;
  /** Rows the queue refused (left pending for the next pass). */
  failed: number;
  /** Why the queue refused them (the first refusal). */
  refusal?: Error;
}

/**
 * One relay pass: claims pending outbox rows, adds their delivery jobs and records them enqueued, in one transaction
 * (the claim keeps other replicas off the same rows until it ends). A row the queue refuses stays pending; the first
 * refusal is returned for the caller to report.
 */
export async function relayOutbox(db: Pool, producer: JobProducer, options: RelayOptions = {}): Promise<RelayResult> {
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ id: string; hook_id: string; event: CloudHookEvent | null }>({
      name: "towel.outbox.claim",
      text: CLAIM_SQL,
      values: [RELAY_BATCH_SIZE, options.reenqueueAfterSeconds ?? REENQUEUE_AFTER_SECONDS, options.reenqueueEnqueuedBefore ?? null],
    });
    const enqueued: string[] = [];
    const dropped: string[] = [];
    let refusal: unknown;
    await Promise.all(
      rows.map(async ({ id, hook_id, event }) => {
        if (!event) return void dropped.push(id);
        try {
          await producer.add(CLOUD_HOOK_JOB, { event, hook_id } satisfies CloudHookJobData, {
            jobId: deliveryJobId(event.id, hook_id),
            attempts: CLOUD_HOOK_ATTEMPTS,
            backoffMs: CLOUD_HOOK_BACKOFF_MS,
            keepCompletedSeconds: KEEP_DELIVERED_SECONDS,
            keepFailed: KEEP_FAILED_DELIVERIES,
          });
          enqueued.push(id);
        } catch (error) {
          refusal ??= error;
        }
      }),
    );
    const failed = rows.length - enqueued.length - dropped.length;
    if (enqueued.length + dropped.length > 0) await client.query({ name: "towel.outbox.relayed", text: RELAYED_SQL, values: [enqueued, dropped] });
    return { enqueued: enqueued.length, dropped: dropped.length, failed, ...(refusal ? { refusal: refusal as Error } : {}) };
  });
}

/** Marks the outbox row of one delivery done (the delivery worker, after it delivered, dropped or gave up). */
export async function markDeliveryDone(db: Pool, eventId: string, hookId: string, outcome: DeliveryOutcome): Promise<void> {
  await db.query({
    name: "towel.outbox.done",
    text: "UPDATE internal.outbox SET done = now(), outcome = $3 WHERE state_id = $1 AND hook_id = $2 AND done IS NULL",
    values: [eventId, hookId, outcome],
  });
}

/** Deletes done rows older than KEEP_DONE_SECONDS, a batch per statement; returns how many. */
export function pruneOutbox(db: Pool, keepSeconds = KEEP_DONE_SECONDS): Promise<number> {
  return deleteInBatches(
    db,
    {
      name: "towel.outbox.prune",
      text: `DELETE FROM internal.outbox WHERE id IN (
               SELECT id FROM internal.outbox WHERE done < now() - make_interval(secs => $1) ORDER BY done LIMIT $2)`,
      values: [keepSeconds],
    },
    PRUNE_BATCH_SIZE,
  );
}
