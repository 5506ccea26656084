// The CPU time a process has used, from /proc/<pid>/stat (Linux).
import { readFileSync, readdirSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat; undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime and stime are fields 14 and 15
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by every process of the local PostgreSQL server (each backend, the WAL writer, the
 * checkpointer …: every process whose name is `postgres`), for work measured as a whole with the database's share in
 * it. Processes that ended in between are missed, which a run whose connections stay open does not have.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
    } catch {
      continue;
    }
    total += cpuSeconds(Number(entry)) ?? 0;
  }
  return total;
}
