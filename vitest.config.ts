import { defineConfig } from "vitest/config";

export default defineConfig({
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
