// Samples the resident set size of every service (from /proc/<pid>/status, VmRSS, of the service's process and its
// descendants: the data graph's workers) every 200 ms during the run and keeps, per service, the peak and the phase
// of the run in which it occurred, and the peak of its largest single process (a worker, for the data graph).
import { readdirSync, readFileSync } from "node:fs";

export interface RssPeak {
  service: string;
  peakMiB: number;
  /** The phase (workload) running when the peak was sampled. */
  phase: string;
  /** The last sample (MiB). */
  lastMiB: number;
  /** The highest RSS any one process of the service reached (MiB): the service's own, or one of its workers. */
  largestProcessMiB: number;
}

const INTERVAL_MS = 200;
const TREE_INTERVAL_MS = 1_000;

function processRssMiB(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined; // the process is gone (or this is not Linux)
  }
}

/** Every process's parent, from /proc/<pid>/stat. */
function parents(): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parentOf;
}

/** The RSS of `pid` and each of its descendants. */
function treeRssMiB(pid: number, parentOf: Map<number, number>): number[] {
  const own = processRssMiB(pid);
  if (own === undefined) return [];
  const sizes = [own];
  for (const [child, parent] of parentOf) if (parent === pid) sizes.push(...treeRssMiB(child, parentOf));
  return sizes;
}

export class RssSampler {
  readonly #processes = new Map<string, number>();
  readonly #peaks = new Map<string, RssPeak>();
  readonly #timer: NodeJS.Timeout;
  #phase = "start-up";
  #parentOf: Map<number, number> | undefined;
  #parentsReadAt = 0;

  constructor() {
    this.#timer = setInterval(() => this.sample(), INTERVAL_MS);
    this.#timer.unref();
  }

  /** Samples `pid` as `service` from now on (a restarted service keeps its peak). */
  watch(service: string, pid: number | undefined): void {
    if (pid !== undefined) this.#processes.set(service, pid);
    this.#parentOf = undefined; // its workers, if any, from the next sample on
  }

  unwatch(service: string): void {
    this.sample();
    this.#processes.delete(service);
  }

  set phase(phase: string) {
    this.sample();
    this.#phase = phase;
  }

  sample(): void {
    if (this.#processes.size === 0) return;
    // the process tree is read once a second (reading every /proc/<pid>/stat costs more than the samples themselves)
    if (!this.#parentOf || performance.now() - this.#parentsReadAt > TREE_INTERVAL_MS) {
      this.#parentOf = parents();
      this.#parentsReadAt = performance.now();
    }
    const parentOf = this.#parentOf;
    for (const [service, pid] of this.#processes) {
      const sizes = treeRssMiB(pid, parentOf);
      if (sizes.length === 0) continue;
      const mib = sizes.reduce((sum, size) => sum + size, 0);
      const largest = Math.max(...sizes);
      const peak = this.#peaks.get(service);
      if (!peak || mib > peak.peakMiB) {
        this.#peaks.set(service, { service, peakMiB: mib, phase: this.#phase, lastMiB: mib, largestProcessMiB: Math.max(largest, peak?.largestProcessMiB ?? 0) });
      } else {
        peak.lastMiB = mib;
        peak.largestProcessMiB = Math.max(peak.largestProcessMiB, largest);
      }
    }
  }

  peaks(): RssPeak[] {
    this.sample();
    return [...this.#peaks.values()];
  }

  /** The current RSS of a watched service (MiB, its process tree), or undefined when it is not running. */
  current(service: string): { totalMiB: number; largestProcessMiB: number } | undefined {
    const pid = this.#processes.get(service);
    if (pid === undefined) return undefined;
    const sizes = treeRssMiB(pid, parents());
    return sizes.length === 0 ? undefined : { totalMiB: sizes.reduce((sum, size) => sum + size, 0), largestProcessMiB: Math.max(...sizes) };
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
