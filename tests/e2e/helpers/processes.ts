// Child processes of the end-to-end suite: the server's services and Prefect Core's agents and commands.
//
// Every child runs in a process group of its own (`detached`), so stopping it also stops whatever it started (an
// agent's flow-run subprocesses and their heartbeat processes). Output goes line by line to a log file and to
// listeners (the harness waits for "listening" lines). Whatever is still running when the test worker exits is
// SIGKILLed by group: nothing outlives a run.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function killAll(): void {
  for (const child of live) child.killGroup("SIGKILL");
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last resort (a crashed or interrupted worker): 'exit' handlers must be synchronous, and kill() is
  process.on("exit", killAll);
  // The children run in process groups of their own, so a terminal's Ctrl-C does not reach them, and a signal
  // that ends this process skips 'exit' handlers: kill them here, then let the signal do what it would have done.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      killAll();
      process.off(signal, onSignal);
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

export interface SpawnOptions {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** where stdout and stderr go, line by line */
  logFile: string;
  /** a name for messages */
  label: string;
}

export class ManagedProcess {
  readonly label: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** resolves when the process has exited (with its code, or the signal that ended it) */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly log: WriteStream;
  private readonly listeners = new Set<(line: string) => void>();
  private readonly recent: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(options: SpawnOptions) {
    installExitHook();
    this.label = options.label;
    this.logFile = options.logFile;
    this.log = createWriteStream(options.logFile, { flags: "a" });
    this.child = spawn(options.command, options.args, {
      env: options.env,
      cwd: options.cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(this);
    const closedStreams: Promise<void>[] = [];
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on("line", (line) => this.onLine(line));
      closedStreams.push(new Promise((resolve) => lines.once("close", () => resolve())));
    }
    this.exited = new Promise((resolve) => {
      // 'error' (e.g. ENOENT) comes instead of 'exit'
      this.child.once("error", (error) => {
        this.onLine(`[harness] could not start ${options.command}: ${error.message}`);
        this.exitInfo = { code: -1, signal: null };
        live.delete(this);
        resolve(this.exitInfo);
      });
      this.child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        // the group may still hold children (an agent's flow runs): they go with their parent
        this.killGroup("SIGKILL");
        void Promise.all(closedStreams).then(() => {
          this.log.end();
          resolve({ code, signal });
        });
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  private onLine(line: string): void {
    this.log.write(`${line}\n`);
    this.recent.push(line);
    if (this.recent.length > 2_000) this.recent.shift();
    for (const listener of this.listeners) listener(line);
  }

  /** Calls `listener` for every later output line; returns the unsubscribe function. */
  onOutput(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last `count` output lines (for failure messages). */
  tail(count = 40): string {
    return this.recent.slice(-count).join("\n");
  }

  /** The whole log file so far. */
  async output(): Promise<string> {
    return readFile(this.logFile, "utf8").catch(() => this.recent.join("\n"));
  }

  /** Sends `signal` to the whole process group; true if it was delivered. */
  killGroup(signal: NodeJS.Signals): boolean {
    const pid = this.child.pid;
    if (pid === undefined) return false;
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops the process: `signal` to the group, SIGKILL after `graceMs`. Resolves once it has exited; rejects if it
   * had to be killed and `strict` is set (a service that does not stop on SIGTERM is a bug worth failing on).
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 15_000, strict = false): Promise<void> {
    if (!this.running) return;
    if (signal === "SIGINT") {
      // Python handles SIGINT (KeyboardInterrupt) in the main process only: signal the leader, not its children
      try {
        process.kill(this.child.pid!, signal);
      } catch {
        /* already gone */
      }
    } else {
      this.killGroup(signal);
    }
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (killed) {
      this.killGroup("SIGKILL");
      await this.exited;
      if (strict) throw new Error(`${this.label} did not stop within ${graceMs / 1000} s of ${signal}; killed it.\n${this.tail()}`);
    }
  }

  /**
   * Waits for an output line matching `match` (the last 2000 lines count too); fails when the process exits first
   * or after `timeoutMs`.
   */
  waitForLine<T>(match: (line: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    for (const line of this.recent) {
      const found = match(line);
      if (found !== undefined) return Promise.resolve(found);
    }
    return new Promise<T>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs / 1000} s. Last output:\n${this.tail()}`));
      }, timeoutMs);
      const unsubscribe = this.onOutput((line) => {
        const found = match(line);
        if (found !== undefined) {
          cleanup();
          resolve(found);
        }
      });
      void this.exited.then(({ code, signal }) => {
        cleanup();
        reject(new Error(`${this.label} exited (${signal ?? `code ${code}`}) before ${what}. Last output:\n${this.tail()}`));
      });
    });
  }
}

/** Runs a command to completion (killed with its group after `timeoutMs`). */
export async function runToCompletion(
  options: SpawnOptions & { timeoutMs: number },
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  const child = new ManagedProcess(options);
  const lines: string[] = [];
  child.onOutput((line) => lines.push(line));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.killGroup("SIGKILL");
  }, options.timeoutMs);
  const { code } = await child.exited;
  clearTimeout(timer);
  return { code, output: lines.join("\n"), timedOut };
}
