// The lines `dev infrastructure` and `start` print once everything is up.
import type { Config } from "../../shared/src/config.ts";
import { maskUrl } from "../../shared/src/logger.ts";
import type { Infrastructure } from "./infrastructure.ts";

/** The lines `dev infrastructure` and `start` print once everything is up. */
export function banner(infrastructure: Infrastructure, config: Config): string[] {
  const { gateway, postgraphile, mutations } = config.services;
  const rows: [string, string][] = [
    ["Postgres", `${maskUrl(infrastructure.databaseUrl)}  (${infrastructure.databaseSource})`],
    [
      "Queues",
      infrastructure.redisUrl
        ? `${maskUrl(infrastructure.redisUrl)}  (${infrastructure.queueSource})`
        : infrastructure.queueSource,
    ],
    ["Gateway", gateway.url],
    ...(gateway.enable_playground ? [["Playground", gateway.url.replace(/\/graphql\/?$/, "/")] as [string, string]] : []),
    ["PostGraphile", postgraphile.url],
    ["Mutations", mutations.url],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return ["", "Prefect Server infrastructure is ready:", ...rows.map(([label, value]) => `  ${`${label}:`.padEnd(width)}${value}`), ""];
}
