// Structured JSON logs (pino) for every service; `logging.pretty` turns on human-readable output for dev.
import { pino, type Logger } from "pino";
import { config } from "./config.ts";

let root: Logger | undefined;

function rootLogger(): Logger {
  if (!root) {
    const { level, pretty } = config().logging;
    root = pino({
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
    });
  }
  return root;
}

/** A logger named like v1's (`prefect-server.<Name>`), carrying `name` on every line. */
export function logger(name: string): Logger {
  return rootLogger().child({ name: name.startsWith("prefect-server") ? name : `prefect-server.${name}` });
}

export type { Logger };
