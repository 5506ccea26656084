// `npm run build` and bin/prefect-server.js: the CLI runs the compiled services from dist/ when the build is
// fresh, and the TypeScript sources when any source changed after it. Built into a scratch copy of the project
// (bin copied, everything else linked), run with Node's type stripping off: only compiled code can start there.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createEmptyDatabase, type TestDatabase } from "../helpers/database.ts";
import { runCli, startCli } from "./run.ts";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const NO_TYPESCRIPT = { NODE_OPTIONS: "--no-experimental-strip-types" };

describe("the build", { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "prefect-server-build-"));
  const cli = join(root, "bin", "prefect-server.js");
  let db: TestDatabase;

  beforeAll(async () => {
    for (const name of ["package.json", "services", "migrations", "node_modules"]) symlinkSync(join(REPO, name), join(root, name));
    mkdirSync(join(root, "bin"));
    copyFileSync(join(REPO, "bin", "prefect-server.js"), cli);
    execFileSync(process.execPath, [join(REPO, "bin", "build.js"), join(root, "dist")]);
    db = await createEmptyDatabase();
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  test("a fresh build runs: migrations, and a service that answers and stops", async () => {
    const env = { ...NO_TYPESCRIPT, DATABASE_URL: db.url, PREFECT_SERVER__SERVICES__MUTATIONS__PORT: "0", PREFECT_SERVER__SERVICES__HOST: "127.0.0.1" };
    const upgrade = await runCli(["database", "upgrade", "--yes"], env, cli);
    expect(upgrade.stderr).toBe("");
    expect(upgrade.code).toBe(0);
    const run = startCli(["services", "mutations"], env, cli);
    await run.waitFor('"msg":"mutations service listening"', 60_000);
    const port = (JSON.parse(run.stdout.split("\n").find((line) => line.includes("mutations service listening"))!) as { port: number }).port;
    const answer = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ hello reference_data { state_info } }" }),
    });
    const body = (await answer.json()) as { data: { hello: string; reference_data: { state_info: Record<string, unknown> } } };
    expect(body.data.hello).toBe("👋");
    expect(Object.keys(body.data.reference_data.state_info)).toContain("Running");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
  });

  test("a build older than a source file is not used: the sources run", async () => {
    utimesSync(join(root, "dist", ".built"), new Date(2000, 0, 1), new Date(2000, 0, 1));
    const stale = await runCli(["--help"], NO_TYPESCRIPT, cli);
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/\.ts/);
    expect((await runCli(["--help"], {}, cli)).code).toBe(0);
  });
});
