// `prefect-server concurrency list|set|delete` (docs/concurrency.md): the operators' view of the limits, through the
// same domain functions as the API.
import { describe, expect, test } from "vitest";
import { createTenant } from "../../services/domain/src/tenants.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { runCli } from "./run.ts";

const db = useTestDatabase();

describe("prefect-server concurrency", () => {
  test("set, list and delete limits of task tags and flow labels; the only tenant is the default", async () => {
    const empty = await runCli(["concurrency", "list", "-d", db.url]);
    expect(empty.stderr.trim()).toBe("Error: This server has no tenant yet: create one first (prefect-server create-tenant).");
    const tenantId = await createTenant(db.pool, { name: "Ops", slug: "ops" });
    expect((await runCli(["concurrency", "list", "-d", db.url])).stdout.trim()).toBe("No concurrency limits.");

    const set = await runCli(["concurrency", "set", "--tag", "db", "--limit", "3", "-d", db.url]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^Limit of task tag "db" set to 3 \(id [0-9a-f-]{36}\)\.$/m);
    expect((await runCli(["concurrency", "set", "--label", "gpu", "--limit", "0", "--tenant", "ops", "-d", db.url])).code).toBe(0);
    expect((await runCli(["concurrency", "set", "--tag", "db", "--limit", "4", "-d", db.url])).code).toBe(0);

    const listed = await runCli(["concurrency", "list", "-d", db.url]);
    const lines = listed.stdout.trim().split("\n").map((line) => line.split(/\s+/).slice(0, 5).join(" "));
    expect(lines).toEqual(["TENANT KIND NAME USAGE LIMIT", "ops task-tag db 0 4", "ops flow-label gpu 0 0"]);
    const json = (await runCli(["concurrency", "list", "--json", "-d", db.url])).stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(json.map((row) => [row.tenant_id, row.kind, row.name, row.limit])).toEqual([
      [tenantId, "task-tag", "db", 4],
      [tenantId, "flow-label", "gpu", 0],
    ]);

    const deleted = await runCli(["concurrency", "delete", "--label", "gpu", "-d", db.url]);
    expect(deleted.stdout.trim()).toBe('Limit of flow label "gpu" removed.');
    const again = await runCli(["concurrency", "delete", "--label", "gpu", "-d", db.url]);
    expect([again.code, again.stderr.trim()]).toEqual([1, 'Error: There is no limit on flow label "gpu".']);
  });

  test("bad input is a one-line error and writes nothing", async () => {
    const runs = await Promise.all([
      runCli(["concurrency", "set", "--tag", "cache", "--limit", "-1", "-d", db.url]),
      runCli(["concurrency", "set", "--limit", "1", "-d", db.url]),
      runCli(["concurrency", "set", "--tag", "cache", "--limit", "1", "--tenant", "nobody", "-d", db.url]),
    ]);
    expect(runs.map((run) => [run.code, run.stderr.trim()])).toEqual([
      [1, 'Error: --limit must be a whole number >= 0, not "-1".'],
      [1, "Error: Give either --tag (a task tag) or --label (a flow-run label)."],
      [1, 'Error: No tenant has the slug or id "nobody".'],
    ]);
    expect((await db.pool.query("SELECT count(*)::int AS n FROM task_tag_limit WHERE tag = 'cache'")).rows[0].n).toBe(0);
  });
});
