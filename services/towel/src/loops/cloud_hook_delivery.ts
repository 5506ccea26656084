// The cloud-hook delivery worker (services/domain/src/cloud_hooks/worker.ts) as a towel queue worker: no job
// scheduler, its jobs come from the state writers; a failed delivery is retried by BullMQ with exponential backoff.
// Each attempt's outcome is counted in the metrics.
import { metricsEnabled } from "../../../shared/src/metrics.ts";
import { cloudHookWorker, isLastAttempt } from "../../../domain/src/cloud_hooks/worker.ts";
import type { DeliveryEndpoints } from "../../../domain/src/cloud_hooks/delivery.ts";
import type { TowelWorkerDefinition } from "../loop.ts";
import { countDelivery } from "../metrics.ts";

/** The delivery worker, its endpoints replaceable (tests). */
export function cloudHookDeliveryWorker(options: { endpoints?: Partial<DeliveryEndpoints> } = {}): TowelWorkerDefinition {
  const worker = cloudHookWorker(options);
  return {
    name: worker.name,
    queue: worker.queue,
    concurrency: worker.concurrency,
    async process(job, context) {
      const deps = { db: context.db, config: context.config, log: context.loggerFor(worker.name) };
      if (!metricsEnabled(context.config)) return worker.process(job, deps);
      try {
        const { delivered } = await worker.process(job, deps);
        countDelivery(delivered ? "delivered" : "dropped");
        return { delivered };
      } catch (error) {
        countDelivery(isLastAttempt(job) ? "failed" : "retrying");
        throw error;
      }
    },
  };
}
