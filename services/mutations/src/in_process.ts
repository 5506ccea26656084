// The mutations service inside another process (the gateway's in-process mode): its Apollo server driven directly,
// without the HTTP listener, on a pool of its own, so its error mapping and context are what its endpoint gives.
import type { Config } from "../../shared/src/config.ts";
import { createPool } from "../../shared/src/database/pool.ts";
import type { GraphQLResponse, InProcessGraph } from "../../shared/src/graphql.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { createMutationsService } from "./server.ts";

export async function inProcessMutations(config: Config, log: Logger): Promise<InProcessGraph> {
  const db = createPool(config.database.connection_url, config.database.pool_size);
  let service;
  try {
    service = await createMutationsService({ db, config, log });
  } catch (error) {
    await db.end();
    throw error;
  }
  const { apollo, context } = service;
  return {
    async send(request, headers = {}) {
      const response = await apollo.executeOperation(
        { query: request.query, variables: request.variables ?? undefined, operationName: request.operationName ?? undefined },
        { contextValue: context(headers) },
      );
      if (response.body.kind !== "single") throw new Error("incremental delivery is not supported");
      return response.body.singleResult as GraphQLResponse;
    },
    async ping() {
      await db.query("select 1");
    },
    async close() {
      await service.stop();
      await db.end();
    },
  };
}
