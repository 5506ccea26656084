// Deleting many rows without holding many locks for long: one bounded statement at a time, until one deletes fewer
// rows than its bound.
import type { Pool } from "./pool.ts";

/**
 * Runs `statement` (a DELETE of at most `batchSize` rows, its last parameter being that bound) until it deletes
 * fewer than `batchSize` rows; returns how many it deleted in all.
 */
export async function deleteInBatches(db: Pool, statement: { name: string; text: string; values: unknown[] }, batchSize: number): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.query({ ...statement, values: [...statement.values, batchSize] });
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return deleted;
  }
}
