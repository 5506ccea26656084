// The two subgraphs the gateway composes, behind one small interface: `send` one GraphQL operation, get the
// subgraph's JSON answer back untouched. Two implementations:
//   - remote (mode distributed): an HTTP POST to the subgraph's URL on a keep-alive agent, with
//     `accept: application/json` (otherwise grafserv answers validation and variable errors with HTTP 400 and the
//     message would be lost behind the status) and, for the mutations service, the `x-prefect-*` request headers;
//   - in-process (mode in_process): each service's graph built in this process by the service itself (its entry
//     point's inProcessDataGraph / inProcessMutations), so its error mapping and context are exactly what its HTTP
//     endpoint would give.
// The gateway's query planner reaches them through `SubgraphDataSource`, the fast path calls `send` directly:
// both paths therefore see the same answers.
// The in-process implementations load PostGraphile and the mutations service only when that mode is used: a
// distributed gateway never imports them (they would cost it tens of MB of resident memory).
import { Agent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import type { GatewayGraphQLResponse } from "@apollo/server-gateway-interface";
import type { Config } from "../../shared/src/config.ts";
import type { Pool } from "../../shared/src/database/pool.ts";
import { prefectHeaders, SUBGRAPH_CLIENT_IDLE_MS } from "../../shared/src/http.ts";
import { INTERNAL_SECRET_HEADER } from "../../shared/src/internal_auth.ts";
import type { GraphQLRequest, GraphQLResponse, InProcessGraph } from "../../shared/src/graphql.ts";
import type { Logger } from "../../shared/src/logger.ts";
import type { OutageLog } from "../../shared/src/outages.ts";

export const DATA_GRAPH = "postgraphile";
export const MUTATIONS = "mutations";

export type SubgraphRequest = GraphQLRequest;
export type SubgraphResponse = GraphQLResponse;

/** The incoming request's headers, names lower-cased. */
export type IncomingHeaders = Readonly<Record<string, string>>;

export interface Subgraph {
  readonly name: string;
  /** Where it is reached (in-process subgraphs have an `inproc://` URL, only used as a name in messages). */
  readonly url: string;
  /** `signal`: aborted when the client went away; the request is then abandoned. */
  send(request: SubgraphRequest, headers?: IncomingHeaders, signal?: AbortSignal): Promise<SubgraphResponse>;
  /**
   * `send` for the fast path: an answer with `data` and without errors may come back as its JSON text, as received,
   * so that it is passed on without being parsed and serialised again (remote subgraphs).
   */
  forward?(request: SubgraphRequest, headers?: IncomingHeaders, signal?: AbortSignal): Promise<SubgraphResponse | string>;
  /** Whether it answers at all (`{ __typename }`); used by GET /ready. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class SubgraphError extends Error {
  override name = "SubgraphError";
}

function isResponse(value: unknown): value is SubgraphResponse {
  return value !== null && typeof value === "object" && !Array.isArray(value) && ("data" in value || "errors" in value);
}

export interface RemoteSubgraphOptions {
  name: string;
  url: string;
  /** Abort a request that takes longer (ms). */
  timeoutMs: number;
  /** Which incoming headers go along (default none). */
  forwardHeaders?: (headers: IncomingHeaders) => Record<string, string>;
  /** Close a connection idle this long (ms; default SUBGRAPH_CLIENT_IDLE_MS). */
  idleTimeoutMs?: number;
  /** Sent with every request when the subgraphs require it (an auth string is set; internal_auth.ts). */
  internalSecret?: string;
}

/** A reused keep-alive connection that the subgraph closed before it read the request. */
class StaleConnection extends Error {}

const isStaleConnection = (error: Error & { code?: string }, reusedSocket: boolean): boolean =>
  reusedSocket && (error.code === "ECONNRESET" || error.code === "EPIPE");

/** A subgraph reached over HTTP. */
export function remoteSubgraph(options: RemoteSubgraphOptions): Subgraph {
  const url = new URL(options.url);
  const secure = url.protocol === "https:";
  // Idle connections are closed by us before the subgraph would close them (SERVER_KEEP_ALIVE_MS).
  const agentOptions = { keepAlive: true, maxSockets: 64, timeout: options.idleTimeoutMs ?? SUBGRAPH_CLIENT_IDLE_MS };
  const agent = secure ? new HttpsAgent(agentOptions) : new Agent(agentOptions);
  const attempt = (
    body: string,
    extraHeaders: Record<string, string>,
    connection: Agent | false,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      let answered = false;
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: "POST",
          agent: connection,
          headers: {
            ...extraHeaders,
            ...(options.internalSecret ? { [INTERNAL_SECRET_HEADER]: options.internalSecret } : {}),
            "content-type": "application/json",
            accept: "application/json",
            "content-length": Buffer.byteLength(body),
          },
          timeout: options.timeoutMs,
          ...(signal ? { signal } : {}),
        },
        (response) => {
          answered = true;
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
          response.on("error", reject);
        },
      );
      request.on("timeout", () =>
        request.destroy(new SubgraphError(`Subgraph "${options.name}" did not answer within ${options.timeoutMs / 1000} s.`)),
      );
      request.on("error", (error: Error & { code?: string }) => {
        if (!answered && isStaleConnection(error, request.reusedSocket)) return reject(new StaleConnection());
        reject(error instanceof SubgraphError ? error : new SubgraphError(`Subgraph "${options.name}" at ${options.url} is unreachable: ${error.message}`));
      });
      request.end(body);
    });
  // A request on a reused connection that the subgraph reset before any byte of an answer never reached it (the
  // subgraph closed the idle connection as we reused it): it is sent once more, on a new connection of its own.
  const post = async (body: string, extraHeaders: Record<string, string>, signal: AbortSignal | undefined): Promise<{ status: number; text: string }> => {
    try {
      return await attempt(body, extraHeaders, agent, signal);
    } catch (error) {
      if (!(error instanceof StaleConnection)) throw error;
      return attempt(body, extraHeaders, false, signal);
    }
  };
  const exchange = (request: SubgraphRequest, headers: IncomingHeaders, signal?: AbortSignal) =>
    post(
      JSON.stringify({ query: request.query, variables: request.variables ?? null, operationName: request.operationName ?? null }),
      options.forwardHeaders?.(headers) ?? {},
      signal,
    );
  const parse = ({ status, text }: { status: number; text: string }): SubgraphResponse => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (isResponse(parsed)) return parsed;
    throw new SubgraphError(`Subgraph "${options.name}" answered HTTP ${status} without a GraphQL response.`);
  };
  const send = async (request: SubgraphRequest, headers: IncomingHeaders = {}, signal?: AbortSignal) => parse(await exchange(request, headers, signal));
  return {
    name: options.name,
    url: options.url,
    send,
    async forward(request, headers = {}, signal) {
      const answer = await exchange(request, headers, signal);
      // Both subgraphs write `data` first; `"errors"` can only occur unescaped as a key or as a whole string value
      // (which merely costs a parse here).
      return answer.status === 200 && answer.text.startsWith('{"data":') && !answer.text.includes('"errors"') ? answer.text : parse(answer);
    },
    async ping() {
      const response = await send({ query: "{ __typename }" });
      if (response.errors?.length) throw new SubgraphError(response.errors.map((e) => e.message).join("; "));
    },
    async close() {
      agent.destroy();
    },
  };
}

/** A service's graph built inside this process, as a subgraph. */
const inProcess = (name: string, graph: InProcessGraph): Subgraph => ({
  name,
  url: `inproc://${name}`,
  send: (request, headers = {}, signal) => graph.send(request, prefectHeaders(headers), signal),
  ping: () => graph.ping(),
  close: () => graph.close(),
});

/** The data graph inside this process (loaded only in this mode: it costs a distributed gateway memory). */
export async function inProcessDataGraph(config: Config, log: Logger): Promise<Subgraph> {
  const { inProcessDataGraph: build } = await import("../../postgraphile/src/index.ts");
  return inProcess(DATA_GRAPH, await build(config, log));
}

/** The mutations service inside this process, on `db` when given (else on a pool of its own). */
export async function inProcessMutations(config: Config, log: Logger, db?: Pool): Promise<Subgraph> {
  const { inProcessMutations: build } = await import("../../mutations/src/index.ts");
  return inProcess(MUTATIONS, await build(config, log, db));
}

/** The incoming request's headers, as the gateway keeps them in its request context. */
export interface GatewayContext {
  headers: IncomingHeaders;
  /**
   * A subgraph whose request already failed on the fast path, with its error: the planner reports that error in its
   * own shape instead of sending the operation again (a mutation must not run twice).
   */
  failed?: { subgraph: string; error: Error };
  /** Aborted when the client went away. */
  signal?: AbortSignal;
}

/** The query planner's view of a subgraph. */
export class SubgraphDataSource implements GraphQLDataSource<GatewayContext> {
  readonly subgraph: Subgraph;
  readonly #outages: OutageLog;
  constructor(subgraph: Subgraph, outages: OutageLog) {
    this.subgraph = subgraph;
    this.#outages = outages;
  }

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    const { request } = options;
    const context = options.context as Partial<GatewayContext> | undefined;
    if (context?.failed?.subgraph === this.subgraph.name) throw context.failed.error;
    const headers = context?.headers ?? {};
    try {
      const response = await this.subgraph.send(
        { query: request.query ?? "", variables: request.variables ?? null, operationName: request.operationName ?? null },
        headers,
        context?.signal,
      );
      this.#outages.recovered(this.subgraph.name);
      return response as GatewayGraphQLResponse;
    } catch (error) {
      if (!context?.signal?.aborted) this.#outages.failed(this.subgraph.name, error as Error);
      throw error;
    }
  }
}
