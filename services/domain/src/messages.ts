// Messages (docs/v1-compatibility.md, Smaller domains): read/unread/delete.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";

type Queryable = Pool | PoolClient;

export async function setMessageRead(db: Queryable, messageId: string | null | undefined, read: boolean): Promise<boolean> {
  if (!messageId) throw new ApiError("Invalid message ID.");
  const { rowCount } = await db.query("UPDATE message SET read = $2 WHERE id = $1", [messageId, read]);
  return rowCount === 1;
}

export async function deleteMessage(db: Queryable, messageId: string | null | undefined): Promise<boolean> {
  if (!messageId) throw new ApiError("Invalid message ID.");
  const { rowCount } = await db.query("DELETE FROM message WHERE id = $1", [messageId]);
  return rowCount === 1;
}
