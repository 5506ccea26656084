#!/usr/bin/env node
// Entry point of the `prefect-server` CLI. The stack needs Node >= 22.12 (PostGraphile v5, type stripping);
// `npm install` puts Node 22 in node_modules/.bin, which npm scripts and npx put first on PATH.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  console.error(
    `prefect-server needs Node >= 22.12, but this is Node ${process.versions.node}.\n` +
      "Run it through npm (`npx prefect-server …`, `npm run prefect-server -- …`) or `make`, which use the Node 22 " +
      "that `npm install` puts in node_modules/.bin.",
  );
  process.exit(1);
}

const root = fileURLToPath(new URL("..", import.meta.url));
// `npm run build` (bin/build.js) compiles the sources into dist/ and writes dist/.built last. The build runs when it
// is there and no source file changed since (so an edit never runs stale code): plain JavaScript starts faster and
// each service holds less memory than with Node's type stripping. Otherwise the TypeScript sources run as they are.
const BUILT_STAMP = join(root, "dist", ".built");

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const useBuild = existsSync(BUILT_STAMP) && statSync(BUILT_STAMP).mtimeMs >= newestSource(join(root, "services"));
await import(useBuild ? "../dist/services/cli/src/main.js" : "../services/cli/src/main.ts");
