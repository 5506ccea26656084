// The cloud-hook delivery worker (services/domain/src/cloud_hooks/worker.ts) as a towel queue worker: no job
// scheduler, its jobs come from the state writers; a failed delivery is retried by BullMQ with exponential backoff.
import { cloudHookWorker } from "../../../domain/src/cloud_hooks/worker.ts";
import type { DeliveryEndpoints } from "../../../domain/src/cloud_hooks/delivery.ts";
import type { TowelWorkerDefinition } from "../loop.ts";

/** The delivery worker, its endpoints replaceable (tests). */
export function cloudHookDeliveryWorker(options: { endpoints?: Partial<DeliveryEndpoints> } = {}): TowelWorkerDefinition {
  const worker = cloudHookWorker(options);
  return {
    name: worker.name,
    queue: worker.queue,
    concurrency: worker.concurrency,
    process: (job, context) => worker.process(job, { db: context.db, config: context.config, log: context.loggerFor(worker.name) }),
  };
}
