// One transaction per mutation request, as v1's Hasura ran every mutation field of a request in one transaction
// (the Python service relied on it, e.g. delete_flow_run's several deletes). Each mutation field still runs in a
// transaction of its own (a savepoint here). If any field fails, everything the request did is rolled back and
// the response carries the errors without data: nothing of it happened.
//
// The request's queries all go through the one client that holds the transaction
// (makeWithPgClientViaPgClientAlreadyInTransaction, which PostGraphile's adaptor offers mainly for tests because it
// serialises every query on that client; for a mutation, whose fields run one after the other anyway, that is
// exactly what is needed).
import type pg from "pg";
import { getOperationAST, GraphQLError, type ExecutionResult } from "graphql";
import { makeWithPgClientViaPgClientAlreadyInTransaction } from "postgraphile/adaptors/pg";
import { withPoolClient } from "../../shared/src/database/pool.ts";

/** A response for a request that could not run (the error is masked and logged like any other). */
const failed = (error: unknown): ExecutionResult => ({
  data: null,
  errors: [new GraphQLError(error instanceof Error ? error.message : String(error), { originalError: error instanceof Error ? error : undefined })],
});

/** A plugin that runs every mutation operation in one transaction on a client of `pool`. */
export function makeRequestTransactionPlugin(pool: pg.Pool): GraphileConfig.Plugin {
  return {
    name: "PrefectRequestTransactionPlugin",
    version: "1.0.0",
    grafast: {
      middleware: {
        async execute(next, event) {
          const { document, operationName, contextValue } = event.args;
          if (getOperationAST(document, operationName)?.operation !== "mutation") return next();
          const context = contextValue as { withPgClient?: unknown };
          const original = context.withPgClient;
          try {
            return await withPoolClient(pool, async (client, discard) => {
              try {
                await client.query("begin");
                context.withPgClient = makeWithPgClientViaPgClientAlreadyInTransaction(client, true);
                const result = await next();
                if (Symbol.asyncIterator in result) throw new Error("streamed mutation results are not supported");
                if (result.errors?.length) {
                  await client.query("rollback");
                  return { data: null, errors: result.errors };
                }
                await client.query("commit");
                return result;
              } catch (error) {
                await client.query("rollback").catch(discard);
                return failed(error);
              } finally {
                context.withPgClient = original;
              }
            });
          } catch (error) {
            // no client could be had
            return failed(error);
          }
        },
      },
    },
  };
}
