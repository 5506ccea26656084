// The outbox relay of a towel replica (services/domain/src/cloud_hooks/outbox.ts): it moves pending cloud-hook
// deliveries to the delivery queue as soon as their state change commits, and prunes what is done.
//
// Every replica runs one; they never move the same row twice at once (the relay claims rows with SKIP LOCKED), so
// the relay needs no leader and goes on while any replica lives. It does not run on BullMQ's job schedulers: it is
// what must keep working when the queue store has just lost everything. A pass starts every RELAY_INTERVAL_MS (an
// index probe of the pending rows when there are none), and again at once after a pass that moved a full batch.
// It is not woken by a NOTIFY from the writing transactions: committing a notification takes a database-wide lock
// that concurrent state writes would queue for. Passes never overlap within a replica.
import type { Pool } from "../../shared/src/database/pool.ts";
import type { Logger } from "../../shared/src/logger.ts";
import type { JobProducer } from "../../shared/src/queues.ts";
import { OutageLog } from "../../shared/src/outages.ts";
import { CLOUD_HOOK_QUEUE } from "../../domain/src/cloud_hooks/events.ts";
import { RELAY_BATCH_SIZE, pruneOutbox, relayOutbox, type RelayResult } from "../../domain/src/cloud_hooks/outbox.ts";
import { pruneLogBatchReceipts } from "../../domain/src/logs.ts";

/** The longest a pending delivery waits for a pass. */
export const RELAY_INTERVAL_MS = 200;
/** How often the done outbox rows and the expired log batch receipts are pruned. */
export const PRUNE_INTERVAL_MS = 60_000;

export interface OutboxRelayOptions {
  db: Pool;
  producer: JobProducer;
  log: Logger;
  /** Told what each pass did (the metrics). */
  onRelayed?: (result: RelayResult) => void;
}

export interface OutboxRelay {
  /**
   * Enqueues every delivery not done again on the next pass, however recently it was enqueued: the queue store came
   * back and may have lost its jobs (a Redis restarted without persistence). A job still there makes it a no-op.
   */
  requeue(): void;
  /** Stops passing (after the pass in progress) and closes the producer. */
  stop(): Promise<void>;
}

export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, producer, log, onRelayed } = options;
  // the delivery queue refusing jobs (Redis down): one line per 10 s while it lasts, one when it accepts them again
  const refusals = new OutageLog(log, {
    field: "queue",
    failed: "The delivery queue refuses jobs; the deliveries wait in the outbox and are enqueued once it accepts them again.",
    recovered: "The delivery queue accepts jobs again.",
  });
  // the relay's own statements failing (Postgres down): the same, one line per 10 s and one when it works again
  const failures = new OutageLog(log, {
    field: "relay",
    failed: `The outbox relay failed; it tries again every ${RELAY_INTERVAL_MS / 1000} s.`,
    recovered: "The outbox relay works again.",
  });
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  // set by requeue(): every row enqueued before it is enqueued again, batch after batch
  let requeueBefore: Date | undefined;

  const pass = async (): Promise<void> => {
    do {
      again = false;
      try {
        const result = await relayOutbox(db, producer, requeueBefore ? { reenqueueEnqueuedBefore: requeueBefore } : {});
        onRelayed?.(result);
        if (result.refusal) refusals.failed(CLOUD_HOOK_QUEUE, result.refusal);
        else if (result.enqueued > 0) refusals.recovered(CLOUD_HOOK_QUEUE);
        if (result.enqueued + result.dropped > 0) log.debug({ enqueued: result.enqueued, dropped: result.dropped }, "outbox relayed");
        if (result.enqueued + result.dropped + result.failed >= RELAY_BATCH_SIZE) again = true;
        else if (requeueBefore && result.failed === 0) {
          log.info(`The queue store came back: the deliveries not done yet were enqueued again.`);
          requeueBefore = undefined;
        }
        failures.recovered("outbox");
      } catch (error) {
        failures.failed("outbox", error as Error);
      }
    } while (again && !stopped);
  };
  const wake = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => (running = undefined));
  };

  const tick = setInterval(wake, RELAY_INTERVAL_MS);
  const prune = setInterval(() => {
    Promise.all([pruneOutbox(db), pruneLogBatchReceipts(db)]).catch((error: unknown) =>
      log.warn({ err: error }, `Could not prune the outbox and the log batch receipts: ${(error as Error).message}`),
    );
  }, PRUNE_INTERVAL_MS);
  tick.unref();
  prune.unref();

  return {
    requeue() {
      requeueBefore = new Date();
      wake();
    },
    async stop() {
      stopped = true;
      clearInterval(tick);
      clearInterval(prune);
      await running;
      await producer.close();
    },
  };
}
