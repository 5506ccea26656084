// hello, api, reference_data.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../../../shared/src/paths.ts";
import { STATE_HIERARCHY, STATE_INFO } from "../../../../domain/src/state_classes.ts";
import type { Resolvers } from "../generated/resolvers.ts";

const packageVersion = (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;

/** The server version: PREFECT_SERVER_VERSION, else the package version. */
export const serverVersion = (): string => process.env.PREFECT_SERVER_VERSION || packageVersion;

export const rootResolvers: Resolvers = {
  Query: {
    hello: () => "👋",
    api: () => ({
      backend: "SERVER",
      mode: "normal",
      version: serverVersion(),
      core_version: process.env.PREFECT_CORE_VERSION || null,
      release_timestamp: process.env.RELEASE_TIMESTAMP || null,
    }),
    reference_data: () => ({ state_hierarchy: STATE_HIERARCHY, state_info: STATE_INFO }),
  },
};
