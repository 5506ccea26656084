// create-tenant: the domain function the mutations service will reuse, and the CLI command around it.
import { describe, expect, test } from "vitest";
import { createTenant, INVALID_SLUG, toSlug } from "../../services/domain/src/tenants.ts";
import { ApiError, UNIQUENESS_VIOLATION } from "../../services/domain/src/errors.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { runCli } from "./run.ts";

const db = useTestDatabase();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("createTenant", () => {
  test("inserts a tenant and returns its id", async () => {
    const id = await createTenant(db.pool, { name: "Data Team", slug: "data-team" });
    expect(id).toMatch(UUID);
    const { rows } = await db.pool.query("select name, slug, settings from tenant where id = $1", [id]);
    expect(rows).toEqual([{ name: "Data Team", slug: "data-team", settings: {} }]);
  });

  test.each(["Data-Team", "data team", "data--team", "-data", "data_team", "dätä"])(
    "rejects the slug %j with v1's error",
    async (slug) => {
      const error = await createTenant(db.pool, { name: "x", slug }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as Error).message).toBe(INVALID_SLUG);
      expect(INVALID_SLUG).toBe('Slug must be "slugified" (lowercase; no spaces)');
    },
  );

  test("a duplicate slug is a uniqueness violation", async () => {
    await createTenant(db.pool, { name: "A", slug: "dupe" });
    await expect(createTenant(db.pool, { name: "B", slug: "dupe" })).rejects.toThrow(UNIQUENESS_VIOLATION);
  });

  test("toSlug lowercases, transliterates and joins words with single dashes", () => {
    expect(toSlug("Data Team")).toBe("data-team");
    expect(toSlug("  My_Team  2 ")).toBe("my-team-2");
    expect(toSlug("Crème brûlée")).toBe("creme-brulee");
  });
});

describe("prefect-server create-tenant", () => {
  test("creates a tenant, slugifying the name by default, and prints its id", async () => {
    const { code, stdout, stderr } = await runCli(["create-tenant", "--name", "Night Shift", "-d", db.url]);
    expect(code, stderr).toBe(0);
    const id = /Tenant created with ID: (\S+)/.exec(stdout)?.[1];
    expect(id).toMatch(UUID);
    const { rows } = await db.pool.query("select name, slug from tenant where id = $1", [id]);
    expect(rows).toEqual([{ name: "Night Shift", slug: "night-shift" }]);
  });

  test("reports v1's errors", async () => {
    const ok = await runCli(["create-tenant", "--name", "default", "--slug", "default"], { DATABASE_URL: db.url });
    expect(ok.code, ok.stderr).toBe(0);
    const duplicate = await runCli(["create-tenant", "--name", "default", "--slug", "default"], { DATABASE_URL: db.url });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr.trim()).toBe("Error: Uniqueness violation.");
    const invalid = await runCli(["create-tenant", "--name", "x", "--slug", "Not A Slug", "-d", db.url]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr.trim()).toBe('Error: Slug must be "slugified" (lowercase; no spaces)');
  });

  test("a database that does not answer is a one-line error", async () => {
    const { code, stderr } = await runCli(["create-tenant", "--name", "x", "-d", "postgresql://x@127.0.0.1:1/x"]);
    expect(code).toBe(1);
    expect(stderr.trim()).toBe("Error: connect ECONNREFUSED 127.0.0.1:1");
  });
});
