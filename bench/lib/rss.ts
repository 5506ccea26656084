// Samples the resident set size of every service (from /proc/<pid>/status, VmRSS, of the service's process and its
// descendants: the data graph's workers) every 200 ms during the run and keeps, per service, the peak and the phase
// of the run in which it occurred.
import { readdirSync, readFileSync } from "node:fs";

export interface RssPeak {
  service: string;
  peakMiB: number;
  /** The phase (workload) running when the peak was sampled. */
  phase: string;
  /** The last sample (MiB). */
  lastMiB: number;
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

/** The RSS of `pid` and all its descendants. */
function rssMiB(pid: number, parentOf: Map<number, number>): number | undefined {
  const own = processRssMiB(pid);
  if (own === undefined) return undefined;
  let total = own;
  for (const [child, parent] of parentOf) if (parent === pid) total += rssMiB(child, parentOf) ?? 0;
  return total;
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
      const mib = rssMiB(pid, parentOf);
      if (mib === undefined) continue;
      const peak = this.#peaks.get(service);
      if (!peak || mib > peak.peakMiB) this.#peaks.set(service, { service, peakMiB: mib, phase: this.#phase, lastMiB: mib });
      else peak.lastMiB = mib;
    }
  }

  peaks(): RssPeak[] {
    this.sample();
    return [...this.#peaks.values()];
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
