// Helpers for the towel service tests: configs, a pass recorder, a log capture, a schedule that fires every second,
// and a private redis-server.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import { loadConfig, type Config } from "../../services/shared/src/config.ts";
import type { PassHooks } from "../../services/towel/src/workers.ts";
import { freePort } from "../helpers/ports.ts";

export function towelConfig(env: Record<string, string>): Config {
  return loadConfig({ env: { PREFECT_SERVER__LOGGING__LEVEL: "debug", ...env }, ignoreUserFile: true });
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
 * A schedule as the API stores it with one event every second: a 6-field cron clock, croniter's seconds field last
 * (Core's interval clocks cannot go under a minute).
 */
export const everySecondSchedule = () => ({ type: "Schedule", clocks: [{ type: "CronClock", cron: "* * * * * *", start_date: null }] });

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
