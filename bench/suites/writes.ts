// set_task_run_states as Core sends it (string-encoded variables, its serialized Running state), 1 and 50 states
// per request, straight to the mutations service and through the gateway, on the same task runs as the pgbench
// ceilings (suites/ceiling.ts).
import { measureHttp, type LoadPlan } from "../lib/measure.ts";
import { setTaskRunStatesBody } from "../lib/requests.ts";
import type { Measurement, Target } from "../lib/stats.ts";
import type { WrkRequest } from "../lib/wrk.ts";
import { BATCH_SIZE, CEILING_RAW_1, CEILING_RAW_50 } from "./ceiling.ts";

/** Distinct request bodies per workload (each connection picks among them at random). */
const SINGLE_BODIES = 2_000;
const BATCH_BODIES = 200;

const TARGET_CLIENTS = 32;
const SERVICE_TARGET: Target = { text: "≥ 70 % of ceiling (32 clients)", kind: "ratio", min: 0.7 };
const GATEWAY_TARGET_32: Target = { text: "≥ 50 % of ceiling (1 state, 32 clients)", kind: "ratio", min: 0.5 };

const writeWorkload = (size: number, via: "mutations" | "gateway") =>
  `${size} state${size > 1 ? "s" : ""}, set_task_run_states via ${via}`;

function random(n: number): number {
  return Math.floor(Math.random() * n);
}

function bodies(taskRunIds: string[], size: number): WrkRequest[] {
  const count = size === 1 ? SINGLE_BODIES : BATCH_BODIES;
  return Array.from({ length: count }, () => {
    const start = random(taskRunIds.length - size + 1);
    return { body: setTaskRunStatesBody(taskRunIds.slice(start, start + size)), headers: { "X-PREFECT-CORE-VERSION": "1.4.1" } };
  });
}

export async function measureWrites(
  urls: { mutations: string; gateway: string },
  taskRunIds: string[],
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (const size of [1, BATCH_SIZE]) {
    const requests = bodies(taskRunIds, size);
    for (const via of ["mutations", "gateway"] as const) {
      const workload = writeWorkload(size, via);
      phase(workload);
      // The issues set these targets at 32 concurrent clients (#4: one state per request at 32 clients, and 50-state
      // requests; #5: one state through the gateway at 32); the other concurrencies are reported without a verdict.
      const target = (clients: number) =>
        clients !== TARGET_CLIENTS ? undefined : via === "mutations" ? SERVICE_TARGET : size === 1 ? GATEWAY_TARGET_32 : undefined;
      const ceiling = size === 1 ? CEILING_RAW_1 : CEILING_RAW_50;
      measurements.push(...(await measureHttp(urls[via], requests, plan, { group: "writes", workload, label: via, ceiling, items: size, target })));
    }
  }
  return measurements;
}
