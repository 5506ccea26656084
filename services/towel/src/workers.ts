// The towel's worker registry: every queue the towel process works on. Loops (loops/scheduler.ts, lazarus.ts,
// zombie_killer.ts, and retention.ts when configured) run one pass per interval, one at a time across every replica
// (loop.ts); queue workers (loops/cloud_hook_delivery.ts) take jobs other services add.
import type { Config } from "../../shared/src/config.ts";
import { logger as namedLogger, type Logger } from "../../shared/src/logger.ts";
import type { TowelWorkerDefinition } from "./loop.ts";
import { cloudHookDeliveryWorker } from "./loops/cloud_hook_delivery.ts";
import { LAZARUS } from "./loops/lazarus.ts";
import { RETENTION, retentionEnabled } from "./loops/retention.ts";
import { SCHEDULER } from "./loops/scheduler.ts";
import { ZOMBIE_KILLER } from "./loops/zombie_killer.ts";

export type { PassHooks, TowelContext, TowelWorkerDefinition } from "./loop.ts";
export { cloudHookDeliveryWorker };

/**
 * Everything the towel process works on: v1's three loops, retention when a rule is on (off by default: without the
 * loop, no pass is even scheduled), and the cloud-hook deliveries.
 */
export function towelWorkers(config: Config): TowelWorkerDefinition[] {
  return [SCHEDULER, LAZARUS, ZOMBIE_KILLER, ...(retentionEnabled(config) ? [RETENTION] : []), cloudHookDeliveryWorker()];
}

/**
 * The loops this configuration switches off (retention without a rule): their job schedulers, left by a towel that
 * ran them, are removed at start-up, so their queues stop collecting jobs no worker takes.
 */
export function switchedOffLoops(config: Config): TowelWorkerDefinition[] {
  return retentionEnabled(config) ? [] : [RETENTION];
}

export const defaultLoggerFor = (name: string): Logger => namedLogger(name);
