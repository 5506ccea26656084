// The gateway does not load Apollo's usage-telemetry dependencies (services/gateway/src/telemetry.ts), yet they
// still work when something reads from them. Checked in a fresh Node process: the module cache is per process.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const GATEWAY = fileURLToPath(new URL("../../services/gateway/src/gateway.ts", import.meta.url));

const SCRIPT = `
import { createRequire } from "node:module";
await import(${JSON.stringify(GATEWAY)});
const cache = createRequire(import.meta.url).cache;
const loaded = () => Object.keys(cache).filter((path) => path.includes("/node_modules/@opentelemetry/sdk-metrics/") || path.includes("/node_modules/gcp-metadata/"));
const before = loaded();
const gatewayRequire = createRequire(createRequire(import.meta.url).resolve("@apollo/gateway"));
const meterProvider = typeof gatewayRequire("@opentelemetry/sdk-metrics").MeterProvider;
console.log(JSON.stringify({ before, meterProvider, after: loaded().length }));
`;

test("@apollo/gateway's telemetry modules are loaded only when read from", () => {
  const output = execFileSync(process.execPath, ["--input-type=module", "-e", SCRIPT], { encoding: "utf8" });
  const { before, meterProvider, after } = JSON.parse(output.trim().split("\n").pop()!) as { before: string[]; meterProvider: string; after: number };
  // only the stand-in's own cache entry (the package's entry point), nothing it would load
  expect(before).toEqual([expect.stringMatching(/@opentelemetry\/sdk-metrics\/build\/src\/index\.js$/)]);
  expect(meterProvider).toBe("function");
  expect(after).toBeGreaterThan(10);
});
