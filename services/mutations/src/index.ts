// Entry point of the mutations service (v1's Python "graphql" service): `start(config, log)` as the CLI's service
// registry expects it. Listens on services.mutations.{host,port}; GraphQL at services.mutations.path and /graphql,
// metrics at /metrics.
import type { Config } from "../../shared/src/config.ts";
import { createPool } from "../../shared/src/database/pool.ts";
import type { Logger } from "../../shared/src/logger.ts";
import { trackPool } from "../../shared/src/metrics.ts";
import { createMutationsService } from "./server.ts";

export { inProcessMutations } from "./in_process.ts";

export async function start(config: Config, log: Logger): Promise<{ stop(): Promise<void> }> {
  const db = createPool(config.database.connection_url, config.database.pool_size);
  trackPool(config, "mutations", db);
  const service = await createMutationsService({ db, config, log });
  let address;
  try {
    address = await service.listen();
  } catch (error) {
    await service.stop();
    await db.end();
    throw error;
  }
  log.info({ host: address.address, port: address.port, path: config.services.mutations.path }, "mutations service listening");
  return {
    async stop() {
      await service.stop();
      await db.end();
    },
  };
}
