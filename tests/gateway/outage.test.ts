// A subgraph outage, as the gateway's log shows it: every request during it is answered (GraphQL errors, never a
// 5xx), but the log gets one line per failing subgraph per interval (the error's text, no stack trace) with the
// number of failures since the last line, and one line when the subgraph answers again.
import { createServer as createTcpServer, connect, type AddressInfo, type Server as TcpServer, type Socket } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, expect, test } from "vitest";
import { OUTAGE_REPORT_INTERVAL_MS } from "../../services/shared/src/outages.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "../postgraphile/seed.ts";
import { post, startStack, type Stack } from "./helpers.ts";

const db = useTestDatabase();
const lines: Record<string, unknown>[] = [];
const gatewayLog = pino(
  { level: "info" },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  }),
);

let stack: Stack;
let proxy: TcpServer;
let down = false;
const open = new Set<Socket>();

beforeAll(async () => {
  await seed(db.pool);
  stack = await startStack(
    "distributed",
    db.url,
    {},
    async (port) => {
      // a proxy to the data graph that can be cut: while down, it drops every connection
      proxy = createTcpServer((client) => {
        if (down) return void client.destroy();
        const upstream = connect(port, "127.0.0.1");
        for (const socket of [client, upstream]) {
          open.add(socket);
          socket.on("error", () => {});
          socket.on("close", () => (open.delete(socket), client.destroy(), upstream.destroy()));
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
      return (proxy.address() as AddressInfo).port;
    },
    gatewayLog,
  );
});
afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
});

test("during an outage every request is answered, and the log has one line per interval, without a stack", async () => {
  down = true;
  for (const socket of open) socket.destroy();
  const started = Date.now();
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      post(`${stack.url}/graphql`, { query: i % 2 === 0 ? "{ flow(limit: 1) { id } }" : "{ hello flow(limit: 1) { id } }" }),
    ),
  );
  const elapsed = Date.now() - started;
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.length).toBeGreaterThan(0);
  }
  const failures = lines.filter((line) => line.msg === "subgraph request failed");
  expect(failures.length).toBeGreaterThanOrEqual(1);
  expect(failures.length).toBeLessThanOrEqual(1 + Math.floor(elapsed / OUTAGE_REPORT_INTERVAL_MS));
  for (const line of failures) {
    expect(line).toMatchObject({ level: 40, subgraph: "postgraphile", error: expect.stringMatching(/postgraphile/) });
    expect(JSON.stringify(line)).not.toMatch(/\bstack\b|\n\s+at /);
  }
  expect(lines.filter((line) => typeof line.err === "object")).toEqual([]);

  down = false;
  expect((await post(`${stack.url}/graphql`, { query: "{ flow(limit: 1) { id } }" })).body.errors).toBeUndefined();
  expect(lines.filter((line) => line.msg === "subgraph answers again")).toEqual([expect.objectContaining({ level: 30, subgraph: "postgraphile" })]);
});
