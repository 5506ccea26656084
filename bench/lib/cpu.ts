// The CPU time a process has used, from /proc/<pid>/stat (Linux).
import { readFileSync } from "node:fs";

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
