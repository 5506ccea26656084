// GET /metrics of a data graph cluster (cluster.ts). The primary holds the port but never sees a request: a worker
// asked for /metrics asks its primary over the cluster's IPC channel, and the primary collects every worker's
// registry with prom-client's AggregatorRegistry (counters and histograms summed, each process metric aggregated
// as prom-client defines it) and answers with the cluster's text. Any worker can therefore answer for all of them.
import type { Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import { metricsRegistry, type MetricsSource } from "../../shared/src/metrics.ts";

/** A worker asking its primary for the cluster's metrics, and the primary's answer. */
export type MetricsMessage = { type: "metrics-request"; id: number } | { type: "metrics"; id: number; text?: string; error?: string };

/** The primary's side: answers its workers' requests (create once, before the workers start). */
export function clusterMetricsAnswerer(): (worker: Worker, message: MetricsMessage) => void {
  const aggregator = new AggregatorRegistry();
  return (worker, message) => {
    if (message.type !== "metrics-request") return;
    const answer = (reply: MetricsMessage) => {
      if (worker.isConnected()) worker.send(reply);
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ type: "metrics", id: message.id, text }),
      (error: unknown) => answer({ type: "metrics", id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  };
}

/**
 * A worker's side: its registry offered to the primary's aggregation, and the source its GET /metrics answers from.
 * `send`: the IPC channel to the primary.
 */
export function clusterMetricsSource(send: (message: MetricsMessage, callback: (error: Error | null) => void) => void): {
  source: MetricsSource;
  /** Hands an answer of the primary to the request waiting for it (other messages are ignored). */
  received(message: { type: string }): void;
} {
  AggregatorRegistry.setRegistries(metricsRegistry());
  // Constructing one is what makes prom-client answer the primary's requests in a worker.
  new AggregatorRegistry();
  const waiting = new Map<number, { resolve(text: string): void; reject(error: Error): void }>();
  let nextId = 0;
  return {
    source: () =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        send({ type: "metrics-request", id }, (error) => {
          if (!error) return;
          waiting.delete(id);
          reject(error);
        });
      }),
    received(message) {
      if (message.type !== "metrics") return;
      const answer = message as Extract<MetricsMessage, { type: "metrics" }>;
      const request = waiting.get(answer.id);
      if (!request) return;
      waiting.delete(answer.id);
      if (answer.text !== undefined) request.resolve(answer.text);
      else request.reject(new Error(`The data graph's primary could not collect the workers' metrics: ${answer.error}`));
    },
  };
}
