// Small pieces every command group shares: the CLI's error type, confirmation prompts, URL masking and the
// wait for Ctrl-C / SIGTERM.
import { createInterface } from "node:readline/promises";
import type { Logger } from "../../shared/src/logger.ts";

/** An error the CLI reports as one line ("Error: …") before exiting with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Asks `question` on the terminal unless `yes` is set; anything but y/yes aborts. Without a terminal to ask on
 * it refuses rather than guessing.
 */
export async function confirm(question: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY) {
    throw new CliError(`${question}\nNot confirmed: there is no terminal to ask on. Pass -y/--yes to go ahead.`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = (await prompt.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== "y" && answer !== "yes") throw new CliError("Aborted.");
  } finally {
    prompt.close();
  }
}

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Set by the supervisor of `dev services` / `start` on its children, whose stdin is a pipe from it. */
export const SUPERVISED_ENV = "PREFECT_SERVER_SUPERVISED";

/**
 * Under a supervisor, stops this process as on SIGTERM once the supervisor is gone (its end of the stdin pipe
 * closes, whatever killed it). Returns a function that stops watching and lets stdin go.
 */
export function stopWhenSupervisorExits(): () => void {
  if (process.env[SUPERVISED_ENV] !== "1") return () => {};
  const onClosed = () => process.kill(process.pid, "SIGTERM");
  process.stdin.once("end", onClosed).once("error", onClosed).resume();
  return () => {
    process.stdin.off("end", onClosed).off("error", onClosed);
    process.stdin.destroy();
  };
}

/** The reason a bring-up stops early when Ctrl-C / SIGTERM arrives; not a failure. */
export class Interrupted extends CliError {
  override name = "Interrupted";

  constructor(signal: NodeJS.Signals) {
    super(`Interrupted by ${signal}; stopped what had been started.`, 0);
  }
}

/**
 * An AbortSignal that fires on the first SIGINT, SIGTERM or SIGHUP; later ones only say that shutdown is under
 * way. It keeps the process alive until `release()`, which every caller must call once shut down. It says so on
 * the terminal, or as log entries of `log` (a service, whose output is JSON log lines).
 */
export function shutdownSignal(log?: Pick<Logger, "info" | "warn">): { signal: AbortSignal; stopped: Promise<void>; release(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (log) log.warn({ signal: name }, `Received ${name}; still shutting down…`);
      else console.error(`Received ${name}; still shutting down…`);
      return;
    }
    if (log) log.info({ signal: name }, `Received ${name}; shutting down…`);
    // After a terminal's "^C", start on a line of our own.
    else console.log(`${name === "SIGINT" && process.stdout.isTTY ? "\n" : ""}Received ${name}; shutting down…`);
    controller.abort(new Interrupted(name));
  };
  for (const name of SHUTDOWN_SIGNALS) process.on(name, onSignal);
  // Signal handlers do not keep Node running; this timer does, until release().
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stopped = new Promise<void>((resolve) => controller.signal.addEventListener("abort", () => resolve()));
  return {
    signal: controller.signal,
    stopped,
    release: () => {
      clearInterval(keepAlive);
      for (const name of SHUTDOWN_SIGNALS) process.off(name, onSignal);
    },
  };
}

/** Splits "a,b, c" option values into trimmed names. */
export function commaList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  ];
}

/**
 * One line for an error the CLI did not raise itself (ApiError, ConfigError, a refused connection…). Node
 * reports a refused localhost connection as an AggregateError with an empty message; its parts say more.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message) return error.message;
  if (error instanceof AggregateError) return error.errors.map(describeError).join("; ");
  return (error as { code?: string }).code ?? error.name;
}
