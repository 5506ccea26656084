// Tenants (docs/v1-compatibility.md, Smaller domains): a name and a unique, slugified slug.
import slugify from "@sindresorhus/slugify";
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError, fromDatabaseError } from "./errors.ts";
import { characterLength } from "./inputs.ts";

export const INVALID_SLUG = 'Slug must be "slugified" (lowercase; no spaces)';

/** A tenant's name and slug are varchar(255) columns (as in v1): longer values are refused before the database. */
const MAX_LENGTH = 255;

function checkLength(field: "name" | "slug", value: string): void {
  if (characterLength(value) > MAX_LENGTH) throw new ApiError(`The tenant ${field} is longer than ${MAX_LENGTH} characters.`);
}

/**
 * The slug form of a text: ASCII lowercase letters and digits in runs joined by single dashes, accents
 * transliterated ("Ünïcode Team" → "uenicode-team"), as python-slugify made them for v1.
 */
export function toSlug(text: string): string {
  return slugify(text, { decamelize: false });
}

/** Inserts a tenant and returns its id. The slug must already be in slug form. */
export async function createTenant(db: Pool | PoolClient, input: { name: string; slug: string }): Promise<string> {
  checkLength("name", input.name);
  checkLength("slug", input.slug);
  if (input.slug !== toSlug(input.slug)) throw new ApiError(INVALID_SLUG);
  try {
    const { rows } = await db.query<{ id: string }>("INSERT INTO tenant (name, slug) VALUES ($1, $2) RETURNING id", [
      input.name,
      input.slug,
    ]);
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

/** delete_tenant: everything of the tenant goes with it through the cascades. */
export async function deleteTenant(db: Pool | PoolClient, tenantId: string, confirm: boolean): Promise<boolean> {
  if (confirm !== true) throw new ApiError("Must pass `confirm=True` to proceed.");
  const { rowCount } = await db.query("DELETE FROM tenant WHERE id = $1", [tenantId]);
  return rowCount === 1;
}

async function updateTenant(db: Pool | PoolClient, tenantId: string, assignment: string, value: unknown): Promise<string> {
  try {
    const { rows } = await db.query<{ id: string }>(`UPDATE tenant SET ${assignment} WHERE id = $1 RETURNING id`, [tenantId, value]);
    if (rows.length === 0) throw new ApiError("Update failed.");
    return rows[0]!.id;
  } catch (error) {
    throw fromDatabaseError(error);
  }
}

export async function updateTenantName(db: Pool | PoolClient, tenantId: string, name: string): Promise<string> {
  checkLength("name", name);
  return updateTenant(db, tenantId, "name = $2", name);
}

export async function updateTenantSlug(db: Pool | PoolClient, tenantId: string, slug: string): Promise<string> {
  checkLength("slug", slug);
  if (slug !== toSlug(slug)) throw new ApiError(INVALID_SLUG);
  return updateTenant(db, tenantId, "slug = $2", slug);
}

/** update_tenant_settings: a shallow merge into the stored settings. */
export async function updateTenantSettings(db: Pool | PoolClient, tenantId: string, settings: unknown): Promise<string> {
  const patch = settings !== null && typeof settings === "object" && !Array.isArray(settings) ? settings : {};
  const { rows } = await db.query<{ id: string }>("UPDATE tenant SET settings = settings || $2::jsonb WHERE id = $1 RETURNING id", [
    tenantId,
    JSON.stringify(patch),
  ]);
  if (rows.length === 0) throw new ApiError("Invalid tenant id.");
  return rows[0]!.id;
}
