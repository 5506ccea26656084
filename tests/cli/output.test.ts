// What a real service prints when the CLI runs it: JSON log lines only, on a machine where neither GRAPHILE_ENV nor
// NODE_ENV is set (a production host), in the data graph's primary and its workers alike.
import { expect, test } from "vitest";
import { useTestDatabase } from "../helpers/database.ts";
import { startCli } from "./run.ts";

const db = useTestDatabase();

const nonJsonLines = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.trim() !== "")
    .filter((line) => {
      try {
        return typeof JSON.parse(line) !== "object";
      } catch {
        return true;
      }
    });

test("the postgraphile service logs JSON lines only, from start to stop, each process its own", async () => {
  const run = startCli(["services", "postgraphile"], {
    DATABASE_URL: db.url,
    PREFECT_SERVER__SERVICES__POSTGRAPHILE__HOST: "127.0.0.1",
    PREFECT_SERVER__SERVICES__POSTGRAPHILE__PORT: "0",
    PREFECT_SERVER__SERVICES__POSTGRAPHILE__WORKERS: "2",
    PREFECT_SERVER__LOGGING__LEVEL: "info",
    // vitest sets NODE_ENV=test; a production host sets neither
    NODE_ENV: undefined,
    GRAPHILE_ENV: undefined,
  });
  try {
    await run.waitFor("data graph listening", 60_000);
  } finally {
    run.child.kill("SIGTERM");
  }
  expect(await run.exited).toBe(0);
  expect(nonJsonLines(run.stdout)).toEqual([]);
  expect(nonJsonLines(run.stderr)).toEqual([]);
  const messages = run.stdout.split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg);
  expect(messages.filter((msg) => msg === "data graph worker listening")).toHaveLength(2);
  expect(messages.filter((msg) => msg === "data graph worker stopped")).toHaveLength(2);
  expect(messages.filter((msg) => msg === "data graph stopped")).toHaveLength(1);
  expect(messages).toContain("Received SIGTERM; shutting down…");
});
