// What a running data graph is, in either process layout (one process, or a primary with worker processes).
import type { AddressInfo } from "node:net";

/** The paths GraphQL is served on: /graphql, and /v1alpha1/graphql where v1's Hasura served it. */
export const GRAPHQL_PATHS = ["/graphql", "/v1alpha1/graphql"] as const;

export interface RunningDataGraph {
  /** The address actually bound (port 0 picks a free one). */
  address: AddressInfo;
  /** The worker processes' ids in cluster mode (services.postgraphile.workers > 1); none otherwise. */
  workers(): number[];
  stop(): Promise<void>;
}
