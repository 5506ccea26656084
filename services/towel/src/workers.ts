// The towel's worker registry: every queue the towel process works on. Loops (loops/scheduler.ts, lazarus.ts,
// zombie_killer.ts) run one pass per interval, one at a time across every replica (loop.ts); queue workers
// (loops/cloud_hook_delivery.ts) take jobs other services add.
import { logger as namedLogger, type Logger } from "../../shared/src/logger.ts";
import type { TowelWorkerDefinition } from "./loop.ts";
import { cloudHookDeliveryWorker } from "./loops/cloud_hook_delivery.ts";
import { LAZARUS } from "./loops/lazarus.ts";
import { SCHEDULER } from "./loops/scheduler.ts";
import { ZOMBIE_KILLER } from "./loops/zombie_killer.ts";

export type { PassHooks, TowelContext, TowelWorkerDefinition } from "./loop.ts";
export { cloudHookDeliveryWorker };

/** Everything the towel process works on: the three loops and the cloud-hook deliveries. */
export function towelWorkers(): TowelWorkerDefinition[] {
  return [SCHEDULER, LAZARUS, ZOMBIE_KILLER, cloudHookDeliveryWorker()];
}

export const defaultLoggerFor = (name: string): Logger => namedLogger(name);
