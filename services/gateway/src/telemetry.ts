// @apollo/gateway loads, when imported, the OpenTelemetry metrics SDK, its exporter and the resource detectors of
// four cloud providers, all for its usage telemetry to Apollo, which this gateway always switches off
// (APOLLO_TELEMETRY_DISABLED, gateway.ts): resident memory for code that never runs. Imported before
// @apollo/gateway, this module puts lazy stand-ins for them in the CommonJS module cache; a stand-in loads its real
// module the first time anything reads from it, so telemetry would work unchanged if it were ever turned on.
import Module, { createRequire } from "node:module";

const TELEMETRY_ONLY = [
  "@opentelemetry/semantic-conventions/incubating",
  "@opentelemetry/sdk-metrics",
  "@opentelemetry/resources",
  "@opentelemetry/exporter-metrics-otlp-http",
  "@opentelemetry/resource-detector-alibaba-cloud",
  "@opentelemetry/resource-detector-aws",
  "@opentelemetry/resource-detector-azure",
  "@opentelemetry/resource-detector-gcp",
];

const ownRequire = createRequire(import.meta.url);
const gatewayRequire = createRequire(ownRequire.resolve("@apollo/gateway"));

for (const specifier of TELEMETRY_ONLY) {
  const path = gatewayRequire.resolve(specifier);
  if (ownRequire.cache[path]) continue;
  let real: object | undefined;
  const load = (): object => {
    if (!real) {
      delete ownRequire.cache[path];
      real = gatewayRequire(specifier) as object;
    }
    return real;
  };
  const standIn = new Module(path);
  standIn.filename = path;
  standIn.loaded = true;
  standIn.exports = new Proxy(
    {},
    {
      get: (_target, key) => Reflect.get(load(), key),
      has: (_target, key) => Reflect.has(load(), key),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_target, key) => {
        const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
        return descriptor && { ...descriptor, configurable: true };
      },
    },
  );
  ownRequire.cache[path] = standIn;
}
