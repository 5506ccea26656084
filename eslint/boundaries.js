// The layout's one hard rule, as a lint rule: a service never reaches into another service's files.
//
//   services/shared   infrastructure (config, logging, database, queues, HTTP kit): imports no other package
//   services/domain   v1's business rules: imports shared only
//   services/<name>   a service (cli, gateway, mutations, postgraphile, towel): imports shared and domain, and of
//                     another service only its entry point, services/<other>/src/index.ts
//
// Static imports, `export … from` and dynamic import() with a literal path are checked.
import { dirname, relative, resolve, sep } from "node:path";

const SERVICES = new Set(["cli", "gateway", "mutations", "postgraphile", "towel"]);
const LIBRARIES = { shared: new Set(), domain: new Set(["shared"]) };

/** The package a path lies in (`services/<package>/…`), or undefined outside services/. */
function packageOf(root, file) {
  const parts = relative(root, file).split(sep);
  return parts[0] === "services" && parts.length > 2 ? parts[1] : undefined;
}

function isEntryPoint(root, file, pkg) {
  const path = relative(root, file).split(sep).join("/");
  return path === `services/${pkg}/src/index.ts` || path === `services/${pkg}/src/index.js`;
}

/** Why importing `target` from `importer` breaks the layout, or undefined when it does not. */
export function boundaryViolation(root, importer, target) {
  const from = packageOf(root, importer);
  const to = packageOf(root, target);
  if (from === undefined || to === undefined || from === to) return undefined;
  if (from in LIBRARIES) {
    return LIBRARIES[from].has(to) ? undefined : `services/${from} may import ${[...LIBRARIES[from]].map((p) => `services/${p}`).join(" and ") || "no other package"}, not services/${to}`;
  }
  if (to in LIBRARIES) return undefined;
  if (SERVICES.has(to) && !isEntryPoint(root, target, to)) {
    return `a service imports another service only through its entry point (services/${to}/src/index.ts); put shared rules in services/domain or services/shared`;
  }
  return undefined;
}

export const boundaries = {
  rules: {
    "no-cross-service-import": {
      meta: { type: "problem", docs: { description: "keep each service to its own files (CONTRIBUTING.md, The layout)" }, schema: [] },
      create(context) {
        const root = context.cwd;
        const check = (node, source) => {
          if (typeof source !== "string" || !source.startsWith(".")) return;
          const target = resolve(dirname(context.filename), source);
          const why = boundaryViolation(root, context.filename, target);
          if (why) context.report({ node, message: `${source}: ${why}.` });
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => node.source.type === "Literal" && check(node, node.source.value),
        };
      },
    },
  },
};
