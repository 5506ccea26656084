#!/usr/bin/env node
// `npm run build`, or `node bin/build.js [outDir]`: compiles the services to JavaScript in dist/ (or outDir) with
// tsconfig.build.json, then writes <outDir>/.built, the stamp bin/prefect-server.js compares with the sources.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const outDir = resolve(process.argv[2] ?? join(root, "dist"));
rmSync(outDir, { recursive: true, force: true });
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", outDir], { stdio: "inherit" });
writeFileSync(join(outDir, ".built"), "");
