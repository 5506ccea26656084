// Where the project's files are, whether this code runs from its sources (services/…/*.ts) or from their build
// (dist/services/…/*.js, `npm run build`): the project root holds package.json, bin/, migrations/, compose.yml and
// the services' non-code files (the mutations service's SDL), which the build does not copy.
import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const threeUp = fileURLToPath(new URL("../../..", import.meta.url)); // the root, or the root's dist/

export const PROJECT_ROOT = basename(threeUp) === "dist" && !existsSync(join(threeUp, "package.json")) ? dirname(threeUp) : threeUp;
