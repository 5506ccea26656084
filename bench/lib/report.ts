// Writes docs/benchmarks.md: the newest run on top, earlier runs kept below it as history.
import { readFile, writeFile } from "node:fs/promises";
import type { Machine } from "./machine.ts";
import type { Measurement } from "./stats.ts";

const HISTORY_MARKER = "<!-- results: newest first; the harness inserts new runs below this line -->";

const HEADER = `# Benchmarks

Measured by the harness in [bench/](../bench/README.md): \`make bench\` (full) or \`make bench-quick\` (a smoke run of
under a minute). Machines are shared and noisy, so every throughput is also given as a ratio of a ceiling measured
in the same run: the same work done by raw SQL through pgbench, with nothing of ours in between.

${HISTORY_MARKER}
`;

export interface RunReport {
  startedAt: Date;
  mode: "full" | "quick";
  command: string;
  machine: Machine;
  seeding: string[];
  measurements: Measurement[];
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");

export function renderRun(run: RunReport, ceilings: Map<string, number>): string {
  const { machine } = run;
  const rows = run.measurements.map((m) => {
    const ceiling = m.ceiling ? ceilings.get(`${m.ceiling}@${m.clients}`) : undefined;
    const items = m.itemsPerSecond ?? m.throughput;
    const ratio = ceiling ? `${fixed((100 * items) / ceiling, 0)} %` : "ceiling";
    return `| ${m.workload} | ${m.clients} | ${fixed(m.throughput, 0)} | ${fixed(items, 0)} | ${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ${m.ceiling ? ratio : "–"} | ${m.target ?? ""} |`;
  });
  return [
    `## ${run.startedAt.toISOString()} (${run.mode})`,
    "",
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB; Postgres ${machine.postgres}; Node ${machine.node}.`,
    `Command: \`${run.command}\`.`,
    ...run.seeding.map((line) => `Seeding: ${line}.`),
    "",
    "| workload | clients | ops/s | items/s | p50 ms | p99 ms | of ceiling | target |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

export async function writeReport(path: string, run: RunReport): Promise<void> {
  const ceilings = new Map(
    run.measurements
      .filter((m) => !m.ceiling)
      .map((m) => [`${m.workload}@${m.clients}`, m.itemsPerSecond ?? m.throughput] as const),
  );
  const existing = await readFile(path, "utf8").catch(() => HEADER);
  const base = existing.includes(HISTORY_MARKER) ? existing : HEADER;
  const [head, history = ""] = base.split(HISTORY_MARKER);
  await writeFile(path, `${head}${HISTORY_MARKER}\n\n${renderRun(run, ceilings)}${history.replace(/^\n+/, "\n")}`);
}
