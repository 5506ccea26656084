// The delivery worker of the `cloud-hooks` queue, run by the towel: each job is one (event, hook) pair the outbox
// relay enqueued (outbox.ts); the hook is read at delivery time, so a deleted or deactivated hook gets nothing. The
// outbox row is marked done once the delivery succeeded, was dropped or was given up.
import type { Config } from "../../../shared/src/config.ts";
import type { Pool } from "../../../shared/src/database/pool.ts";
import type { Logger } from "../../../shared/src/logger.ts";
import { deliverCloudHook, loadHook, type DeliveryEndpoints } from "./delivery.ts";
import { CLOUD_HOOK_QUEUE, type CloudHookJobData } from "./events.ts";
import { markDeliveryDone } from "./outbox.ts";

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

/** Whether this attempt at a delivery is its last: failing, it is given up rather than retried. */
export const isLastAttempt = (job: DeliveryJob): boolean => (job.attemptsMade ?? 0) + 1 >= (job.opts?.attempts ?? 1);

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
        await markDeliveryDone(db, event.id, hookId, "dropped");
        return { delivered: false };
      }
      const attempt = (job.attemptsMade ?? 0) + 1;
      const attempts = job.opts?.attempts ?? 1;
      try {
        await deliverCloudHook(hook, event, { db, apiUrl: config.api.url, endpoints: options.endpoints });
      } catch (error) {
        const last = isLastAttempt(job);
        const text = `Cloud hook ${hookId} (${hook.type}) for flow run ${event.flow_run.id} failed, attempt ${attempt} of ${attempts}` +
          `${last ? "; giving up" : "; will retry"}: ${(error as Error).message}`;
        if (last) {
          log.error({ ...fields, attempt }, text);
          await markDeliveryDone(db, event.id, hookId, "failed");
        } else {
          log.warn({ ...fields, attempt }, text);
        }
        throw error;
      }
      await markDeliveryDone(db, event.id, hookId, "delivered");
      log.info({ ...fields, attempt, type: hook.type }, `Delivered cloud hook ${hookId} (${hook.type}) for flow run ${event.flow_run.id}: ${event.state.state}.`);
      return { delivered: true };
    },
  };
}

