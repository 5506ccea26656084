// The gateway's own cost per request: its p50 minus the p50 of the same workload sent straight to the subgraph,
// at the lowest concurrency of the run (one client: the latency a single user sees, without queueing).
import type { Measurement, TargetCheck } from "../lib/stats.ts";

const MAX_OVERHEAD_MS = 1;

export function gatewayOverhead(measurements: Measurement[], clients: number): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const gateway of measurements.filter((m) => m.label === "gateway" && m.clients === clients)) {
    const base = gateway.workload.replace(/ via gateway$/, "");
    const direct = measurements.find(
      (m) => m.clients === clients && (m.label === "mutations" || m.label === "postgraphile") && m.workload.replace(/ via \w+$/, "") === base,
    );
    if (!direct) continue;
    const overhead = gateway.p50Ms - direct.p50Ms;
    checks.push({
      name: `gateway p50 overhead: ${base} @ ${clients}`,
      target: `≤ ${MAX_OVERHEAD_MS} ms`,
      measured: `${overhead.toFixed(2)} ms (${gateway.p50Ms.toFixed(2)} vs ${direct.p50Ms.toFixed(2)} ms via ${direct.label})`,
      met: overhead <= MAX_OVERHEAD_MS,
    });
  }
  return checks;
}
