// A small process manager: runs children in their own process groups, prefixes every line they print with
// their name, and stops them all together (SIGTERM, then SIGKILL after a grace period; then SIGKILL to anything
// left in a child's group) on request or as soon as one of them exits by itself.
import { spawn, type ChildProcess } from "node:child_process";
import { PROJECT_ROOT } from "../../shared/src/paths.ts";
import { SUPERVISED_ENV } from "./common.ts";
import { SERVICE_NODE_OPTIONS, SINGLE_PROCESS_NODE_OPTIONS, type ServiceName } from "./registry.ts";
import { SINGLE_PROCESS_NAME } from "./single_process.ts";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { join } from "node:path";
import { styleText } from "node:util";

/** How long a child may take to exit after SIGTERM before it gets SIGKILL (v1 waited 3 s). */
export const STOP_GRACE_MS = 3_000;

const COLOURS = ["cyan", "magenta", "yellow", "green", "blue", "red"] as const;

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  graceMs?: number;
  /** Where the children's stdout lines go (default process.stdout); colour only when it is a terminal. */
  stdout?: Writable;
  /** Where their stderr lines and the supervisor's own notes go (default process.stderr). */
  stderr?: Writable;
}

interface Child {
  spec: ChildSpec;
  process: ChildProcess;
  prefix: string;
  /** Resolves once the child has exited and its output is drained. */
  closed: Promise<void>;
  isClosed: boolean;
}

export class Supervisor {
  /** Resolves, once every child is gone, to 0 after a requested stop, or to the exit status of the first child
   *  that ended by itself (1 if a signal killed it). */
  readonly done: Promise<number>;
  readonly #children: Child[];
  readonly #graceMs: number;
  readonly #stderr: Writable;
  #exitCode = 0;
  #stopping: Promise<void> | undefined;

  constructor(specs: ChildSpec[], options: SupervisorOptions = {}) {
    this.#graceMs = options.graceMs ?? STOP_GRACE_MS;
    const stdout = options.stdout ?? process.stdout;
    this.#stderr = options.stderr ?? process.stderr;
    const width = Math.max(0, ...specs.map((spec) => spec.name.length)) + 2;
    this.#children = specs.map((spec, index) => {
      const label = `[${spec.name}]`.padEnd(width);
      return this.#spawn(spec, styleText(COLOURS[index % COLOURS.length]!, label, { stream: stdout }), stdout);
    });
    this.done = Promise.all(this.#children.map((child) => child.closed)).then(() => this.#exitCode);
  }

  #spawn(spec: ChildSpec, prefix: string, stdout: Writable): Child {
    // detached: a process group of its own, so a terminal's Ctrl-C reaches only us and we stop the children
    // in order; and a signal to the group reaches anything the child started.
    // stdin is a pipe we never write to: when we die, even by SIGKILL, the child sees it close and stops itself
    // (SUPERVISED_ENV tells `services <name>` to watch it) instead of living on as an orphan.
    const child = spawn(spec.command, spec.args, {
      env: { ...(spec.env ?? process.env), [SUPERVISED_ENV]: "1" },
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const entry: Child = { spec, process: child, prefix, closed: Promise.resolve(), isClosed: false };
    pipeLines(child.stdout!, prefix, stdout);
    pipeLines(child.stderr!, prefix, this.#stderr);
    entry.closed = new Promise<void>((resolve) => {
      let exited = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, error?: Error) => {
        if (exited) return;
        exited = true;
        entry.isClosed = true;
        if (!this.#stopping) {
          const how = error ? `could not start: ${error.message}` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
          this.#note(`${prefix} ${how}; stopping the others`);
          this.#exitCode = error || signal ? 1 : (code ?? 1);
          void this.stop();
        }
        resolve();
      };
      child.on("close", (code, signal) => finish(code, signal));
      child.on("error", (error) => finish(null, null, error));
    });
    return entry;
  }

  /** Stops every child still running: SIGTERM to its process group, SIGKILL after the grace period. */
  stop(): Promise<number> {
    this.#stopping ??= Promise.all(this.#children.map((child) => this.#stopChild(child))).then(() => {});
    return this.#stopping.then(() => this.done);
  }

  async #stopChild(child: Child): Promise<void> {
    if (!child.isClosed) {
      signalGroup(child.process, "SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), this.#graceMs);
      });
      const overdue = await Promise.race([child.closed.then(() => false), graceOver]);
      clearTimeout(timer);
      if (overdue) {
        this.#note(`${child.prefix} did not stop within ${this.#graceMs} ms; sending SIGKILL`);
        signalGroup(child.process, "SIGKILL");
        await child.closed;
      }
    }
    // Whatever the child left behind in its group (a process of its own that outlived it) goes too.
    signalGroup(child.process, "SIGKILL");
  }

  #note(line: string): void {
    this.#stderr.write(`${line}\n`);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}

function pipeLines(input: Readable, prefix: string, output: Writable): void {
  createInterface({ input, crlfDelay: Infinity }).on("line", (line) => output.write(`${prefix} ${line}\n`));
}

const CLI_ENTRY = join(PROJECT_ROOT, "bin", "prefect-server.js");

/**
 * How `dev services` and `start` run one service: `prefect-server services <name>` under this same Node, with the
 * service's Node options.
 */
export function serviceChild(name: ServiceName, env: NodeJS.ProcessEnv = process.env): ChildSpec {
  return { name, command: process.execPath, args: [...SERVICE_NODE_OPTIONS[name], CLI_ENTRY, "services", name], env };
}

/** How `start --single-process` runs the whole server: `prefect-server services all`. */
export function singleProcessChild(env: NodeJS.ProcessEnv = process.env): ChildSpec {
  return {
    name: SINGLE_PROCESS_NAME,
    command: process.execPath,
    args: [...SINGLE_PROCESS_NODE_OPTIONS, CLI_ENTRY, "services", SINGLE_PROCESS_NAME],
    env,
  };
}
