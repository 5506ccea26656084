// The GraphQL request and answer shapes the services hand each other, and a graph run inside the calling process
// (the gateway's in-process mode builds the data graph and the mutations service this way).
import type { GraphQLFormattedError } from "graphql";

export interface GraphQLRequest {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

/** A GraphQL response as its graph produced it. */
export interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: GraphQLFormattedError[];
  extensions?: Record<string, unknown>;
}

/** A service's graph executed in this process: no HTTP, the same answers as its HTTP endpoint. */
export interface InProcessGraph {
  /**
   * `headers`: the incoming request's headers, names lower-cased; `signal`: aborted when the caller no longer waits
   * for the answer (the data graph then cancels the request's SQL).
   */
  send(request: GraphQLRequest, headers?: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<GraphQLResponse>;
  /** Resolves when its database answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
