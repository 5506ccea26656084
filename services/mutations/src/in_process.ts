// The mutations service inside another process (the gateway's in-process mode): its Apollo server driven directly,
// without the HTTP listener, so its error mapping and context are what its endpoint gives; on a pool of its own, or
// on the process's shared pool (the single-process server), which it then leaves open.
import type { Config } from "../../shared/src/config.ts";
import { createPool, type Pool } from "../../shared/src/database/pool.ts";
import type { GraphQLResponse, InProcessGraph } from "../../shared/src/graphql.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { trackPool } from "../../shared/src/metrics.ts";
import { createMutationsService } from "./server.ts";

export async function inProcessMutations(config: Config, log: Logger, shared?: Pool): Promise<InProcessGraph> {
  const db = shared ?? createPool(config.database.connection_url, config.database.pool_size);
  if (!shared) trackPool(config, "mutations", db); // a shared pool is reported by whoever shares it
  const release = () => (shared ? Promise.resolve() : db.end());
  let service;
  try {
    service = await createMutationsService({ db, config, log });
  } catch (error) {
    await release();
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
      await release();
    },
  };
}
