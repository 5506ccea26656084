// Runs pgbench with a custom script and reads every transaction's latency from its per-transaction logs.
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "./command.ts";
import { quantile } from "./stats.ts";

interface PgbenchOptions {
  connectionString: string;
  script: string;
  clients: number;
  seconds: number;
  variables?: Record<string, string | number>;
  /** Parse and plan each statement once per connection (`-M prepared`), as a service's named statements are. */
  prepared?: boolean;
}

interface PgbenchResult {
  transactionsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  transactions: number;
}

export async function runPgbench(options: PgbenchOptions): Promise<PgbenchResult> {
  const dir = await mkdtemp(join(tmpdir(), "prefect-bench-"));
  try {
    const scriptFile = join(dir, "script.sql");
    await writeFile(scriptFile, options.script);
    const url = new URL(options.connectionString);
    const args = [
      "--no-vacuum",
      `--client=${options.clients}`,
      `--jobs=${Math.min(options.clients, 2)}`,
      `--time=${options.seconds}`,
      `--file=${scriptFile}`,
      "--log",
      `--log-prefix=${join(dir, "log")}`,
      ...Object.entries(options.variables ?? {}).map(([name, value]) => `--define=${name}=${value}`),
      ...(options.prepared ? ["--protocol=prepared"] : []),
    ];
    const env = {
      ...process.env,
      PGHOST: url.hostname,
      PGPORT: url.port || "5432",
      PGUSER: decodeURIComponent(url.username) || "postgres",
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: url.pathname.slice(1),
    };
    const output = await runCommand("pgbench", args, { env, timeoutMs: (options.seconds + 120) * 1000 });
    const tps = /tps = ([\d.]+)/.exec(output);
    if (!tps) throw new Error(`pgbench printed no tps:\n${output}`);
    const latencies = await readLatencies(dir);
    return {
      transactionsPerSecond: Number(tps[1]),
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      transactions: latencies.length,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Per-transaction log lines are "client_id transaction_no time_us script_no epoch epoch_us"; time is the latency. */
async function readLatencies(dir: string): Promise<Float64Array> {
  const values: number[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith("log")) continue;
    for (const line of (await readFile(join(dir, name), "utf8")).split("\n")) {
      const fields = line.split(" ");
      if (fields.length >= 3) values.push(Number(fields[2]) / 1000);
    }
  }
  return Float64Array.from(values).sort();
}
