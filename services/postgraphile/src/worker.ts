// A worker process of the data graph in cluster mode (cluster.ts): serves on the port the primary shares, with the
// configuration the primary handed it, until the primary tells it to stop or goes away. Its GET /metrics answers
// with the whole cluster's metrics, which the primary collects (cluster_metrics.ts).
import type { Config } from "../../shared/src/config.ts";
import { configureLogging, logger } from "../../shared/src/logger.ts";
import { metricsEnabled } from "../../shared/src/metrics.ts";
import { WORKER_CONFIG_ENV, type WorkerMessage } from "./cluster.ts";
import { clusterMetricsSource } from "./cluster_metrics.ts";
import type { RunningDataGraph } from "./service.ts";
import { serve } from "./server.ts";

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? "null") as Config | null;
if (!config || !process.send) throw new Error("worker.ts runs as a data graph worker, started by the postgraphile service");
const send = process.send.bind(process);
configureLogging(config.logging);
const log = logger("postgraphile");
const metrics = metricsEnabled(config) ? clusterMetricsSource((message, callback) => send(message, callback)) : undefined;

// the primary stops the workers (a terminal's Ctrl-C reaches the whole process group)
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => {});

// asked to stop (or left alone by the primary) while still starting: stop as soon as serving
let stopRequested = false;
let running: RunningDataGraph | undefined;
let stopping = false;
const stop = async () => {
  stopRequested = true;
  if (!running || stopping) return;
  stopping = true;
  await running.stop();
  log.info("data graph worker stopped");
  process.exit(0);
};
process.on("message", (message: WorkerMessage) => {
  if (message.type === "stop") void stop();
  else metrics?.received(message);
});
process.on("disconnect", () => void stop()); // the primary is gone

try {
  running = await serve(config, log, { metrics: metrics?.source });
  log.info({ port: running.address.port }, "data graph worker listening");
  if (stopRequested) await stop();
} catch (error) {
  log.error({ err: error }, "the data graph worker could not start");
  if (process.connected) {
    send({ type: "failed", message: error instanceof Error ? error.message : String(error) } satisfies WorkerMessage, () => process.exit(1));
  } else process.exit(1);
}
