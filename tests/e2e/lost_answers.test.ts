// Prefect Core sends a request again when its connection fails before the answer arrives (urllib3 retries, POST
// included: docs/operations.md, "Retried writes"). A proxy between Core and the gateway forwards every request and,
// for every second state write and the first log batches, drops the connection once the server has answered: the
// write is committed, Core sees a reset and sends it again. The agent, the flow runner and the task runners all go
// through it. What the user waits for: the run ends Success, and its history holds each state and each log line
// once.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Core } from "./helpers/core.ts";
import { flowFile, useE2E } from "./helpers/harness.ts";
import { createRun, createTenantAndProject, register, waitForState } from "./helpers/runs.ts";
import { ensureVenv } from "./venv.ts";

const e2e = useE2E();

/** Forwards to the gateway; drops the answers `drop` picks, after the server gave them. */
class LossyProxy {
  readonly dropped: Record<string, number> = {};
  readonly seen: Record<string, number> = {};
  #server: Server | undefined;
  url = "";

  readonly #target: () => string;
  readonly #drop: (kind: string, n: number) => boolean;

  constructor(target: () => string, drop: (kind: string, n: number) => boolean) {
    this.#target = target;
    this.#drop = drop;
  }

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const body = Buffer.concat(chunks);
        const kind = /set_task_run_states|set_flow_run_states|write_run_logs/.exec(body.toString("utf8"))?.[0] ?? "other";
        const n = (this.seen[kind] = (this.seen[kind] ?? 0) + 1);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(request.headers)) {
          if (typeof value === "string" && !["host", "content-length", "connection"].includes(name)) headers[name] = value;
        }
        try {
          const answer = await fetch(this.#target(), { method: request.method, headers, body: request.method === "POST" ? body : undefined });
          const text = Buffer.from(await answer.arrayBuffer());
          if (this.#drop(kind, n)) {
            this.dropped[kind] = (this.dropped[kind] ?? 0) + 1;
            request.socket.destroy();
            return;
          }
          response.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json" }).end(text);
        } catch {
          request.socket.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

const proxy = new LossyProxy(
  () => e2e.url,
  (kind, n) => (kind.startsWith("set_") && n % 2 === 0) || (kind === "write_run_logs" && n <= 2),
);
let lossyCore: Core | undefined;
afterAll(async () => {
  await lossyCore?.stopAgents();
  await proxy.stop();
});

describe("answers lost after the server committed", { timeout: 300_000 }, () => {
  test("Core sends the writes again; the run succeeds with each state and each log line stored once", async () => {
    await createTenantAndProject(e2e);
    await register(e2e, flowFile("simple.py"), "e2e-simple");
    await proxy.start();
    lossyCore = new Core({ venv: await ensureVenv(() => {}), endpoint: proxy.url, workDir: mkdtempSync(join(tmpdir(), "prefect-e2e-lossy-")) });
    await lossyCore.startAgent();
    const id = await createRun(e2e, "e2e-simple");
    await waitForState(e2e, id, "Success", 180_000);

    // Core met lost answers for the agent's, the flow runner's and the task runners' state writes and for logs
    expect(proxy.dropped.set_flow_run_states ?? 0).toBeGreaterThanOrEqual(1);
    expect(proxy.dropped.set_task_run_states ?? 0).toBeGreaterThanOrEqual(2);
    expect(proxy.dropped.write_run_logs ?? 0).toBeGreaterThanOrEqual(1);

    // each state once: no run has the same serialized state twice in a row
    const repeats = async (table: string, column: string, ids: string[]) =>
      (
        await e2e.db.pool.query(
          `select ${column}::text as run, version, state from (
             select ${column}, version, state, serialized_state, lag(serialized_state) over (partition by ${column} order by version) as previous
             from ${table} where ${column} = any($1::uuid[])) s
           where serialized_state = previous`,
          [ids],
        )
      ).rows;
    const taskRuns = (await e2e.db.pool.query("select id::text from task_run where flow_run_id = $1", [id])).rows.map((row) => row.id);
    expect(await repeats("flow_run_state", "flow_run_id", [id])).toEqual([]);
    expect(await repeats("task_run_state", "task_run_id", taskRuns)).toEqual([]);
    const states = (await e2e.db.pool.query("select state from flow_run_state where flow_run_id = $1 order by version", [id])).rows.map((row) => row.state);
    expect(states).toEqual(["Scheduled", "Submitted", "Running", "Success"]);

    // each log line once
    const doubled = await e2e.db.pool.query(
      "select message, timestamp, count(*)::int from log where flow_run_id = $1 group by 1, 2 having count(*) > 1",
      [id],
    );
    expect(doubled.rows).toEqual([]);
    expect((await e2e.db.pool.query("select count(*)::int from log where flow_run_id = $1 and message like 'e2e says:%'", [id])).rows[0].count).toBe(1);
  });
});
