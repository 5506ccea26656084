import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // One graphql module for everyone: Node (and the CommonJS packages such as @apollo/subgraph) load graphql's
    // CommonJS entry, while Vite would pick its ESM "module" entry for our own imports; graphql refuses to mix
    // two copies ("Duplicate graphql modules cannot be used at the same time").
    alias: [{ find: /^graphql$/, replacement: require.resolve("graphql") }],
  },
  test: {
    include: ["tests/**/*.test.ts", "services/**/*.test.ts"],
    exclude: ["node_modules/**", "tests/.venv/**"],
    globalSetup: ["tests/global-setup.ts"],
    reporters: ["default", "./tests/summary-reporter.ts"],
    // Each test file gets its own database and Redis prefix, so files run in parallel.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
