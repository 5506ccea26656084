// Structured JSON logs (pino) for every service; `logging.pretty` turns on human-readable output for dev.
import { pino, type Logger } from "pino";
import { config, type Config } from "./config.ts";

let root: Logger | undefined;

/**
 * Sets up the process's logs from `settings` instead of the process-wide configuration: for a process that runs
 * with a configuration handed to it (a data-graph worker). Call it before the first logger().
 */
export function configureLogging(settings: Config["logging"]): void {
  const { level, pretty } = settings;
  root = pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}

function rootLogger(): Logger {
  if (!root) configureLogging(config().logging);
  return root!;
}

/** A logger named like v1's (`prefect-server.<Name>`), carrying `name` on every line. */
export function logger(name: string): Logger {
  return rootLogger().child({ name: name.startsWith("prefect-server") ? name : `prefect-server.${name}` });
}

export type { Logger };

/** Apollo's logger interface (the gateway's and the mutations service's Apollo servers) writing to `log`. */
export function apolloLogger(log: Logger): { debug(message: string): void; info(message: string): void; warn(message: string): void; error(message: string): void } {
  return {
    debug: (message) => log.debug(message),
    info: (message) => log.info(message),
    warn: (message) => log.warn(message),
    error: (message) => log.error(message),
  };
}

/** A URL for logs and the CLI's output, its password replaced by `****`. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = "****";
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:****@");
  }
}
