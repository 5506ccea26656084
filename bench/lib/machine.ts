// What the numbers were measured on.
import { cpus, totalmem } from "node:os";
import type pg from "pg";

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
}

export async function describeMachine(db: pg.Pool | pg.Client): Promise<Machine> {
  const { rows } = await db.query<{ server_version: string }>("show server_version");
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    postgres: rows[0]!.server_version,
  };
}
