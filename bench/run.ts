// Entry point of `make bench` / `make bench-quick`: seeds (once), measures, writes docs/benchmarks.md.
// All load goes to this machine's loopback; every loop is bounded by a fixed duration.
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { describeMachine } from "./lib/machine.ts";
import { BENCH_DATABASE_URL, openBenchDatabase } from "./lib/database.ts";
import { writeReport } from "./lib/report.ts";
import type { Measurement } from "./lib/stats.ts";
import { measureCeiling } from "./suites/ceiling.ts";

const program = new Command("bench")
  .description("Prefect Server benchmark suite")
  .option("--quick", "smoke run: short durations, fewer concurrency levels (under a minute)")
  .option("--no-report", "print the results without writing docs/benchmarks.md")
  .parse();
const options = program.opts<{ quick?: boolean; report: boolean }>();

const plan = options.quick ? { clients: [1, 32], seconds: 3 } : { clients: [1, 8, 32], seconds: 15 };
const startedAt = new Date();
const pool = await openBenchDatabase();
try {
  const machine = await describeMachine(pool);
  const measurements: Measurement[] = [];
  const seeding: string[] = [];

  console.log(`ceiling: pgbench at ${plan.clients.join(", ")} clients, ${plan.seconds} s each`);
  const ceiling = await measureCeiling(pool, BENCH_DATABASE_URL, plan);
  measurements.push(...ceiling.measurements);
  seeding.push(`state targets (100 flow runs × 100 task runs) in ${ceiling.seedSeconds.toFixed(1)} s`);

  console.table(
    measurements.map((m) => ({
      workload: m.workload,
      clients: m.clients,
      "ops/s": Math.round(m.throughput),
      "items/s": Math.round(m.itemsPerSecond ?? m.throughput),
      "p50 ms": Number(m.p50Ms.toFixed(2)),
      "p99 ms": Number(m.p99Ms.toFixed(2)),
    })),
  );
  if (options.report) {
    const path = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url));
    await writeReport(path, {
      startedAt,
      mode: options.quick ? "quick" : "full",
      command: options.quick ? "make bench-quick" : "make bench",
      machine,
      seeding,
      measurements,
    });
    console.log(`results written to ${path}`);
  }
} finally {
  await pool.end();
}
