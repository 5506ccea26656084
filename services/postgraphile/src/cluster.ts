// Several processes serving the data graph on one port (services.postgraphile.workers > 1).
//
// One Node process runs the data graph on one core, and PostGraphile's work per request (planning lookups, building
// the SQL, shaping the answer) keeps that core busy long before Postgres runs out of cores: one process leaves
// part of the machine idle, two use it (docs/benchmarks.md, section 2). v1's Hasura used every core of its machine.
//
// The primary process (the one `services postgraphile` starts) only holds the port, which Node's cluster module
// shares: it accepts each connection and hands it to the workers in turn. It starts the workers with its own
// configuration, resolves once all of them listen, replaces a worker that dies, and stops them all on stop(). It also
// collects the workers' metrics for GET /metrics, which any worker answers for all of them (cluster_metrics.ts).
// Workers ignore SIGINT and SIGTERM (a terminal's Ctrl-C reaches the whole process group): the primary decides when
// they stop, and a worker whose primary is gone stops by itself.
import cluster, { type Worker } from "node:cluster";
import type { AddressInfo } from "node:net";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../../shared/src/config.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { metricsEnabled } from "../../shared/src/metrics.ts";
import { freePort } from "../../shared/src/ports.ts";
import { clusterMetricsAnswerer, type MetricsMessage } from "./cluster_metrics.ts";
import type { RunningDataGraph } from "./service.ts";

/** The environment variable carrying the primary's configuration (JSON) to its workers. */
export const WORKER_CONFIG_ENV = "PREFECT_SERVER_DATA_GRAPH_WORKER_CONFIG";

/** What a worker tells its primary, and the primary a worker, over the cluster's IPC channel. */
export type WorkerMessage = { type: "failed"; message: string } | { type: "stop" } | MetricsMessage;

const RESTART_DELAY_MS = 1_000;
/** How long stop() waits for a worker to close its connections and pool and exit before it kills it. */
const WORKER_STOP_TIMEOUT_MS = 10_000;

// worker.ts from the sources, worker.js from the build (dist/), next to this module
const WORKER_ENTRY = fileURLToPath(new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/** Starts `config.services.postgraphile.workers` worker processes; resolves once every one of them listens. */
export async function startWorkers(config: Config, log: Logger): Promise<RunningDataGraph> {
  const settings = config.services.postgraphile;
  // port 0 (tests): one free port, chosen here, for all the workers
  const port = settings.port === 0 ? await freePort(settings.host) : settings.port;
  const workerEnv = { [WORKER_CONFIG_ENV]: JSON.stringify({ ...config, services: { ...config.services, postgraphile: { ...settings, port } } }) };
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
  const answerMetrics = metricsEnabled(config) ? clusterMetricsAnswerer() : undefined;

  const workers = new Set<Worker>();
  let stopping: Promise<void> | undefined;

  const fork = (): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork(workerEnv);
      workers.add(worker);
      let listening = false;
      let failure: string | undefined;
      worker.on("message", (message: WorkerMessage) => {
        if (message.type === "failed") failure = message.message;
        else if (message.type === "metrics-request") answerMetrics?.(worker, message);
      });
      worker.once("listening", (address: AddressInfo) => {
        listening = true;
        resolve(address);
      });
      worker.once("exit", (code, signal) => {
        workers.delete(worker);
        const how = signal ?? `status ${code}`;
        if (!listening) return reject(new Error(failure ?? `a data graph worker exited while starting (${how})`));
        if (stopping) return;
        log.error({ worker: worker.process.pid, exit: how }, `a data graph worker exited (${how}); starting another`);
        replace();
      });
    });

  // a replacement that cannot start (the database down, say) is tried again, a second later each time
  const replace = (): void => {
    setTimeout(() => {
      if (stopping) return;
      fork().catch((error: unknown) => {
        if (stopping) return; // stopped while it was starting
        log.error({ err: error }, "a replacement data graph worker could not start; trying again");
        replace();
      });
    }, RESTART_DELAY_MS).unref();
  };

  const stopWorker = (worker: Worker): Promise<void> =>
    new Promise((resolve) => {
      if (worker.isDead()) return resolve();
      const kill = setTimeout(() => worker.process.kill("SIGKILL"), WORKER_STOP_TIMEOUT_MS);
      worker.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      if (worker.isConnected()) worker.send({ type: "stop" } satisfies WorkerMessage);
      else worker.process.kill("SIGKILL");
    });

  const stop = (): Promise<void> => (stopping ??= Promise.all([...workers].map(stopWorker)).then(() => {}));

  const started = await Promise.allSettled(Array.from({ length: settings.workers }, fork));
  const failed = started.find((outcome) => outcome.status === "rejected");
  if (failed) {
    await stop();
    throw failed.reason;
  }
  const address = (started[0] as PromiseFulfilledResult<AddressInfo>).value;
  return {
    address,
    workers: () => [...workers].map((worker) => worker.process.pid!),
    stop,
  };
}
