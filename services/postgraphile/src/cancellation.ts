// A request's SQL is cancelled in Postgres when its client goes away: once the HTTP response closes unanswered (the
// gateway gave up, or its own client did), or the in-process caller aborts, every statement the request still has
// running is cancelled with pg_cancel_backend. Without it a statement runs on to the statement timeout with nobody
// waiting for it, holding a connection of the pool all along.
//
// The request's clients are known by wrapping the context's withPgClient (as transaction.ts does): a client is the
// request's from the moment the adaptor hands it over until the callback returns, and it is not handed back to the
// pool before a cancel sent for it has been delivered, so the cancel cannot reach another request's statement.
import pg from "pg";
import type { ServerResponse } from "node:http";
import { clientGone } from "../../shared/src/http.ts";
import type { Logger } from "../../shared/src/logger.ts";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Grafast {
    interface RequestContext {
      /** Aborted when the caller of an in-process request no longer waits for it. */
      signal?: AbortSignal;
    }
  }
}

type RawClient = pg.ClientBase & { processID?: number };
type WithPgClient = (settings: unknown, callback: (client: { rawClient?: RawClient }) => Promise<unknown>) => Promise<unknown>;

/** The signal that the request's caller went away, or undefined when there is no way to tell. */
function callerGone(requestContext: Partial<Grafast.RequestContext> | undefined): AbortSignal | undefined {
  if (requestContext?.signal) return requestContext.signal;
  const response = (requestContext as { node?: { res?: ServerResponse } } | undefined)?.node?.res;
  return response ? clientGone(response) : undefined;
}

/** Cancels the statements running on `pids`, on a connection of its own (the pool may be exhausted). */
async function cancelBackends(connection: pg.ClientConfig, pids: number[], log: Pick<Logger, "warn">): Promise<void> {
  const client = new pg.Client({ ...connection, application_name: "prefect-server-postgraphile-cancel" });
  try {
    await client.connect();
    await client.query("select pg_cancel_backend(pid) from unnest($1::int[]) as pid", [pids]);
  } catch (error) {
    log.warn({ err: error, pids }, "could not cancel the statements of a request whose client went away");
  } finally {
    await client.end().catch(() => {});
  }
}

/** A plugin cancelling a request's running statements when its caller goes away. */
export function makeCancellationPlugin(pool: pg.Pool, log: Pick<Logger, "warn">): GraphileConfig.Plugin {
  const connection = (pool as unknown as { options: pg.ClientConfig }).options;
  return {
    name: "PrefectCancellationPlugin",
    version: "1.0.0",
    grafast: {
      middleware: {
        async execute(next, event) {
          const signal = callerGone(event.args.requestContext);
          const context = event.args.contextValue as { withPgClient?: WithPgClient };
          const original = context.withPgClient;
          if (!signal || !original) return next();
          const running = new Set<RawClient>();
          let cancelled: Promise<void> | undefined;
          const onAbort = () => {
            const pids = [...running].map((client) => client.processID).filter((pid): pid is number => typeof pid === "number");
            if (pids.length > 0) cancelled = cancelBackends(connection, pids, log);
          };
          signal.addEventListener("abort", onAbort, { once: true });
          context.withPgClient = (settings, callback) =>
            original(settings, async (client) => {
              const raw = client.rawClient;
              if (raw) running.add(raw);
              try {
                return await callback(client);
              } finally {
                if (raw) running.delete(raw);
                await cancelled;
              }
            });
          try {
            return await next();
          } finally {
            signal.removeEventListener("abort", onAbort);
            context.withPgClient = original;
          }
        },
      },
    },
  };
}
