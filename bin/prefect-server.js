#!/usr/bin/env node
// Entry point of the `prefect-server` CLI. The stack needs Node >= 22.12 (PostGraphile v5, type stripping);
// `npm install` puts Node 22 in node_modules/.bin, which npm scripts and npx put first on PATH.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `prefect-server needs Node >= 22.12, but this is Node ${process.versions.node}.\n` +
      "Run it through npm (`npx prefect-server …`, `npm run prefect-server -- …`) or `make`, which use the Node 22 " +
      "that `npm install` puts in node_modules/.bin.",
  );
  process.exit(1);
}
await import("../services/cli/src/main.ts");
