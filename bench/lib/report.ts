// Writes docs/benchmarks.md: the newest run on top, earlier runs kept below it as history. Everything above the
// history marker (the introduction and the analysis people write) is kept as it is.
import { execFileSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import type { Machine } from "./machine.ts";
import type { RssPeak } from "./rss.ts";
import { ceilingOf, meets, median, ratioOf, type Measurement, type PassTiming, type TargetCheck } from "./stats.ts";

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
  /** One line per data set: its scale and the time seeding took. */
  seeding: string[];
  measurements: Measurement[];
  passes: PassTiming[];
  rss: RssPeak[];
  /** Target checks that are not a single measurement (gateway overhead, RSS, the big flow …). */
  checks: TargetCheck[];
  /** Free lines (the big flow, warnings). */
  notes: string[];
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const whole = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "–");
const verdict = (met: boolean | undefined) => (met === undefined ? "–" : met ? "met" : "**missed**");

function commit(): string {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${hash} + uncommitted changes` : hash;
  } catch {
    return "unknown";
  }
}

/** Every target of the run with its verdict: the measurements that carry one, then the other checks. */
function targetChecks(run: RunReport): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const m of run.measurements) {
    if (!m.target) continue;
    const ratio = ratioOf(m, run.measurements);
    const measured =
      m.target.kind === "ratio"
        ? `${ratio === undefined ? "–" : `${fixed(100 * ratio, 0)} %`} (${whole(m.itemsPerSecond ?? m.throughput)}/s)`
        : m.target.kind === "throughput"
          ? `${whole(m.throughput)} req/s`
          : `p50 ${fixed(m.p50Ms, 2)} ms`;
    checks.push({ name: `${m.workload} @ ${m.clients}`, target: m.target.text, measured, met: meets(m, run.measurements) });
  }
  for (const pass of run.passes) {
    if (pass.maxSeconds === undefined) continue;
    const worst = Math.max(...pass.seconds);
    checks.push({ name: `${pass.pass} (${pass.data})`, target: `≤ ${pass.maxSeconds} s`, measured: `${fixed(worst, 2)} s (slowest of ${pass.seconds.length})`, met: worst <= pass.maxSeconds });
  }
  return [...checks, ...run.checks];
}

export function renderRun(run: RunReport): string {
  const { machine } = run;
  const lines = [
    `## ${run.startedAt.toISOString()} (${run.mode})`,
    "",
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB; Postgres ${machine.postgres}; Node ${machine.node}; wrk and pgbench on the same machine; services compiled (\`npm run build\`).`,
    `Command: \`${run.command}\` at ${commit()}.`,
    ...run.seeding.map((line) => `Seeding: ${line}.`),
    "",
  ];
  const checks = targetChecks(run);
  if (checks.length > 0) {
    lines.push("| target | required | measured | verdict |", "|---|---|---|---|");
    for (const check of checks) {
      lines.push(`| ${check.name} | ${check.target} | ${check.measured} | ${verdict(check.met)} |`);
    }
    lines.push("");
  }
  const groups = [...new Set(run.measurements.map((m) => m.group))];
  for (const group of groups) {
    lines.push(
      `| ${group} | clients | ops/s | items/s | p50 ms | p99 ms | of ceiling |`,
      "|---|---|---|---|---|---|---|",
    );
    for (const m of run.measurements.filter((x) => x.group === group)) {
      const ratio = ratioOf(m, run.measurements);
      const of = ceilingOf(m, run.measurements)?.label ?? "ceiling";
      // a multiple reads better than a percentage once a figure is several times its reference (Prefect 3's)
      const share = ratio === undefined ? (m.ceiling ? "–" : "") : ratio >= 2 ? `${fixed(ratio, 1)}× ${of}` : `${fixed(100 * ratio, 0)} % of ${of}`;
      const errors = m.errors ? ` (**${m.errors} errors**)` : "";
      lines.push(
        `| ${m.workload}${errors} | ${m.clients} | ${whole(m.throughput)} | ${whole(m.itemsPerSecond ?? m.throughput)} | ${fixed(m.p50Ms, 2)} | ${fixed(m.p99Ms, 2)} | ${share} |`,
      );
    }
    lines.push("");
  }
  if (run.passes.length > 0) {
    lines.push("| towel pass | over | one pass does | seconds (median) | slowest | target |", "|---|---|---|---|---|---|");
    for (const pass of run.passes) {
      lines.push(
        `| ${pass.pass} | ${pass.data} | ${pass.work} | ${fixed(median(pass.seconds), 2)} | ${fixed(Math.max(...pass.seconds), 2)} | ${pass.maxSeconds === undefined ? "" : `≤ ${pass.maxSeconds} s`} |`,
      );
    }
    lines.push("");
  }
  if (run.rss.length > 0) {
    lines.push("| service | peak RSS MiB | during | last MiB | peak of its largest process MiB |", "|---|---|---|---|---|");
    for (const peak of run.rss) {
      lines.push(`| ${peak.service} | ${fixed(peak.peakMiB, 0)} | ${peak.phase} | ${fixed(peak.lastMiB, 0)} | ${fixed(peak.largestProcessMiB, 0)} |`);
    }
    lines.push("");
  }
  if (run.notes.length > 0) lines.push(...run.notes.map((note) => `- ${note}`), "");
  return lines.join("\n");
}

export async function writeReport(path: string, run: RunReport): Promise<void> {
  const existing = await readFile(path, "utf8").catch(() => HEADER);
  const base = existing.includes(HISTORY_MARKER) ? existing : HEADER;
  const [head, history = ""] = base.split(HISTORY_MARKER);
  await writeFile(path, `${head}${HISTORY_MARKER}\n\n${renderRun(run)}${history.replace(/^\n+/, "\n")}`);
}
