// Runs the real `prefect-server` CLI in a child process for the CLI tests.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../bin/prefect-server.js", import.meta.url));
export const FAKE_SERVICES = fileURLToPath(new URL("./fixtures/services", import.meta.url));

/** Our environment without any Prefect Server settings, plus `env`; no user config file. */
export function cliEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !/^(PREFECT_SERVER|DATABASE_URL$|REDIS_URL$|APOLLO_API_|PREFECT__)/.test(name),
    ),
  );
  return { ...clean, PREFECT_SERVER__USER_CONFIG_PATH: "/nonexistent/prefect-server-test.toml", ...env };
}

export interface CliRun {
  child: ChildProcess;
  /** Everything printed so far on stdout and stderr. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when `pattern` appears in stdout or stderr; rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code (or 128 + signal number) once the process has exited. */
  exited: Promise<number>;
}

/** Starts the CLI (`cli`: another copy of bin/prefect-server.js) with `args`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cli = CLI): CliRun {
  const child = spawn(process.execPath, [cli, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  const exited = new Promise<number>((resolve) =>
    child.on("close", (code, signal) => {
      notify();
      resolve(code ?? 128 + (signal === "SIGKILL" ? 9 : signal === "SIGTERM" ? 15 : 2));
    }),
  );
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      const found = () => (typeof pattern === "string" ? (stdout + stderr).includes(pattern) : pattern.test(stdout + stderr));
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}`)), timeoutMs);
        const check = () => {
          if (found()) finish();
          else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`exited before ${pattern}`));
        };
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(new Error(`${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          else resolve();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cli = CLI,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = startCli(args, env, cli);
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}
