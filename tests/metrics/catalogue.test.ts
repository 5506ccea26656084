// The metric names the services define, the ones docs/operations.md ("Metrics") documents and the ones the example
// Grafana dashboard (docs/grafana-dashboard.json) queries are the same names: a metric added, renamed or removed in
// the code must be so in the docs, and the dashboard may only use what the services export.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { PROJECT_ROOT } from "../../services/shared/src/paths.ts";

const NAME = /prefect_server_[a-z_]+/g;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "generated" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** `name: "prefect_server_…"` and the first argument of a gauge helper (`poolGauge("prefect_server_…"`). */
const defined = new Set(
  sources(join(PROJECT_ROOT, "services")).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(/(?:name: |Gauge\(\s*)"(prefect_server_[a-z_]+)"/g)].map((match) => match[1]!),
  ),
);
const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), "utf8");
const operations = read("docs/operations.md");
const documented = new Set([...operations.slice(operations.indexOf("## Metrics")).matchAll(/`(prefect_server_[a-z_]+)`/g)].map((match) => match[1]!));
const queried = new Set([...read("docs/grafana-dashboard.json").matchAll(NAME)].map((match) => match[0].replace(/_(bucket|count|sum)$/, "")));

test("every metric the services define is documented, and nothing else is", () => {
  expect(defined.size).toBeGreaterThan(15);
  expect([...documented].sort()).toEqual([...defined].sort());
});

test("the example dashboard queries only metrics the services export", () => {
  expect(queried.size).toBeGreaterThan(15);
  expect([...queried].filter((name) => !defined.has(name))).toEqual([]);
});
