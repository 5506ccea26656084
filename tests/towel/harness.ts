// Helpers for the towel service tests: configs, a pass recorder, a log capture, a tiny interval-only schedule source,
// and a private redis-server.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { loadConfig, type Config } from "../../services/shared/src/config.ts";
import type { ScheduleEvent, ScheduleSource } from "../../services/towel/src/loops/scheduler.ts";
import type { PassHooks } from "../../services/towel/src/workers.ts";

export function towelConfig(env: Record<string, string>): Config {
  return loadConfig({ env: { PREFECT_SERVER__LOGGING__LEVEL: "debug", ...env }, ignoreUserFile: true });
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Pass {
  loop: string;
  instance: string;
  jobId: string | undefined;
  start: number;
  end?: number;
  error?: unknown;
  counts?: Record<string, number>;
}

/** Records every pass (start and end) of the instances it hooks into. */
export class PassRecorder {
  readonly passes: Pass[] = [];

  hooks(instance: string, extra: { delayMs?: number } = {}): PassHooks {
    const open = new Map<string | undefined, Pass>();
    return {
      passStarted: async (loop, job) => {
        const pass: Pass = { loop, instance, jobId: job.id, start: Date.now() };
        open.set(`${loop}:${job.id}`, pass);
        this.passes.push(pass);
        // a pass slower than the 1 s debug interval: without global concurrency, replicas would overlap
        if (extra.delayMs) await new Promise((resolve) => setTimeout(resolve, extra.delayMs));
      },
      passFinished: (loop, job, outcome) => {
        const pass = open.get(`${loop}:${job.id}`)!;
        open.delete(`${loop}:${job.id}`);
        pass.end = Date.now();
        pass.error = outcome.error;
        pass.counts = outcome.counts;
      },
    };
  }

  finished(loop: string, since = 0): Pass[] {
    return this.passes.filter((pass) => pass.loop === loop && pass.end !== undefined && pass.start >= since);
  }

  /** Pairs of passes of one loop that ran at the same time. */
  overlaps(loop: string): [Pass, Pass][] {
    const passes = this.passes.filter((pass) => pass.loop === loop).sort((a, b) => a.start - b.start);
    const found: [Pass, Pass][] = [];
    for (let index = 1; index < passes.length; index += 1) {
      const previous = passes[index - 1]!;
      const current = passes[index]!;
      if (previous.end === undefined || current.start < previous.end) found.push([previous, current]);
    }
    return found;
  }
}

/** A pino logger whose JSON lines are kept in `lines`. */
export function captureLogs(): { lines: Record<string, unknown>[]; loggerFor(name: string): Logger; root: Logger } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const root = pino({ level: "debug" }, stream);
  const named = (name: string) => (name.startsWith("prefect-server") ? name : `prefect-server.${name}`);
  return { lines, root, loggerFor: (name) => root.child({ name: named(name) }) };
}

/**
 * Enough of Core's schedules for the towel tests: interval clocks only ({interval: µs, start_date: {dt, tz: "UTC"}}),
 * with parameter_defaults and labels, plain keys only for events without extras.
 */
export const intervalSchedules: ScheduleSource = {
  nextEvents(schedule, n, after) {
    const clocks = (schedule as { clocks?: Record<string, unknown>[] }).clocks;
    if (!Array.isArray(clocks)) throw new Error("not a schedule");
    const events: ScheduleEvent[] = [];
    for (const clock of clocks) {
      if (clock.type !== "IntervalClock") throw new Error(`unsupported clock ${String(clock.type)}`);
      const step = Number(clock.interval) / 1000;
      const start = Date.parse(`${(clock.start_date as { dt: string }).dt}Z`);
      let time = start + Math.max(0, Math.floor((after.getTime() - start) / step) + 1) * step;
      for (let index = 0; index < n; index += 1, time += step) {
        events.push({
          start_time: new Date(time),
          parameter_defaults: (clock.parameter_defaults as Record<string, unknown> | undefined) ?? {},
          labels: (clock.labels as string[] | undefined) ?? null,
        });
      }
    }
    return events.sort((a, b) => a.start_time.getTime() - b.start_time.getTime()).slice(0, n);
  },
  idempotencyKey(event) {
    const start = event.start_time.toISOString().replace("Z", "+00:00");
    const extras = Object.keys(event.parameter_defaults ?? {}).length > 0 || event.labels !== null;
    return extras ? `auto-scheduled:${start}:${JSON.stringify([event.parameter_defaults, event.labels])}` : `auto-scheduled:${start}`;
  },
};

/** An interval schedule as the API stores it. */
export function intervalSchedule(seconds: number, extra: Record<string, unknown> = {}, start = new Date(Date.UTC(2020, 0, 1))) {
  return {
    type: "Schedule",
    clocks: [{ type: "IntervalClock", interval: seconds * 1_000_000, start_date: { dt: start.toISOString().slice(0, -1), tz: "UTC" }, ...extra }],
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A redis-server of this test's own on a free port (no persistence), which can be stopped and started again. */
export class PrivateRedis {
  readonly #dir = mkdtempSync(join(tmpdir(), "towel-redis-"));
  #process: ChildProcess | undefined;
  port = 0;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.port ||= await freePort();
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.#dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#process = child;
    await new Promise<void>((resolve, reject) => {
      let output = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
  }

  /** Stops the server (SIGTERM, nothing saved) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGTERM");
    });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
