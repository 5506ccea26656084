// The gateway's own metrics: its calls to the subgraphs, by either path (the fast path's and the query planner's),
// in either mode. Its HTTP answers and operations are counted as every service's are (shared/src/metrics.ts);
// docs/operations.md, "Metrics", lists them all.
import { LATENCY_BUCKETS, processCounter, processHistogram } from "../../shared/src/metrics.ts";
import type { IncomingHeaders, Subgraph, SubgraphRequest } from "./subgraphs.ts";

const subgraphDuration = processHistogram({
  name: "prefect_server_gateway_subgraph_request_duration_seconds",
  help: "Requests the gateway sent to a subgraph, and how long each took to be answered or to fail.",
  labelNames: ["subgraph"] as const,
  buckets: LATENCY_BUCKETS,
});

const subgraphFailures = processCounter({
  name: "prefect_server_gateway_subgraph_request_failures_total",
  help: "Requests to a subgraph that got no GraphQL answer (unreachable, timed out, refused); not those abandoned because the client went away.",
  labelNames: ["subgraph"] as const,
});

type Send<T> = (request: SubgraphRequest, headers?: IncomingHeaders, signal?: AbortSignal) => Promise<T>;

/** The subgraph with its requests timed and its failures counted. */
export function measuredSubgraph(subgraph: Subgraph): Subgraph {
  const duration = subgraphDuration().labels(subgraph.name);
  const failures = subgraphFailures().labels(subgraph.name);
  const measured =
    <T,>(send: Send<T>): Send<T> =>
    async (request, headers, signal) => {
      const started = performance.now();
      try {
        return await send(request, headers, signal);
      } catch (error) {
        if (!signal?.aborted) failures.inc();
        throw error;
      } finally {
        duration.observe((performance.now() - started) / 1000);
      }
    };
  const forward = subgraph.forward;
  return {
    name: subgraph.name,
    url: subgraph.url,
    send: measured((request, headers, signal) => subgraph.send(request, headers, signal)),
    ...(forward ? { forward: measured((request, headers, signal) => forward.call(subgraph, request, headers, signal)) } : {}),
    ping: () => subgraph.ping(),
    close: () => subgraph.close(),
  };
}
