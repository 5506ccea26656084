// The gateway's keep-alive connections to its subgraphs: a subgraph that closes an idle connection at the moment the
// gateway reuses it must not surface as an error. The gateway closes idle connections before a subgraph would, and a
// request whose reused connection is reset before any byte of an answer is sent once more on a new connection;
// nothing else is sent twice.
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from "node:net";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { remoteSubgraph } from "../../services/gateway/src/subgraphs.ts";
import { createHttpServer, SERVER_KEEP_ALIVE_MS, SUBGRAPH_CLIENT_IDLE_MS } from "../../services/shared/src/http.ts";
import { post, startStack, type Stack } from "./helpers.ts";
import { useTestDatabase } from "../helpers/database.ts";
import { seed } from "../postgraphile/seed.ts";

type Behaviour = "answer" | "reset" | "reset after the head";

/**
 * A subgraph stand-in: answers `{"data": {"n": <request number>}}`, and for the requests `decide` says so, destroys
 * the connection instead (before answering, or after sending the status line and headers).
 */
async function fakeSubgraph(decide: (request: { number: number; onConnection: number }) => Behaviour) {
  let requests = 0;
  const connections = new Set<Socket>();
  const perConnection = new WeakMap<Socket, number>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const number = ++requests;
      const onConnection = (perConnection.get(req.socket) ?? 0) + 1;
      perConnection.set(req.socket, onConnection);
      const behaviour = decide({ number, onConnection });
      if (behaviour === "reset") return req.socket.destroy();
      if (behaviour === "reset after the head") {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
        res.flushHeaders();
        res.write('{"data":');
        return setTimeout(() => req.socket.destroy(), 20);
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data: { n: number } }));
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on("connection", (socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return {
    url,
    server,
    connections,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const subgraphAt = (url: string, idleTimeoutMs?: number) => remoteSubgraph({ name: "postgraphile", url, timeoutMs: 5_000, idleTimeoutMs });

describe("the gateway's connections to a subgraph", () => {
  test("a reused connection reset before any byte of an answer: sent again on a new connection, answered", async () => {
    // every second request on a connection finds it closed, as when the subgraph's idle timer fires at that moment
    const fake = await fakeSubgraph(({ onConnection }) => (onConnection === 2 ? "reset" : "answer"));
    const subgraph = subgraphAt(fake.url);
    try {
      for (let i = 0; i < 5; i++) expect(await subgraph.send({ query: "{ n }" })).toHaveProperty("data.n");
      // 5 answers; every reuse was reset once and sent again
      expect(fake.requests()).toBeGreaterThan(5);
      expect(fake.requests()).toBeLessThanOrEqual(10);
    } finally {
      await subgraph.close();
      await fake.close();
    }
  });

  test("a reset on a new connection is reported, not sent again", async () => {
    const fake = await fakeSubgraph(() => "reset");
    const subgraph = subgraphAt(fake.url);
    try {
      await expect(subgraph.send({ query: "{ n }" })).rejects.toThrow(/Subgraph "postgraphile" at .* is unreachable/);
      expect(fake.requests()).toBe(1);
    } finally {
      await subgraph.close();
      await fake.close();
    }
  });

  test("a reset after the answer began is reported, not sent again (the subgraph had the request)", async () => {
    const fake = await fakeSubgraph(({ onConnection }) => (onConnection === 2 ? "reset after the head" : "answer"));
    const subgraph = subgraphAt(fake.url);
    try {
      expect(await subgraph.send({ query: "{ n }" })).toEqual({ data: { n: 1 } });
      await expect(subgraph.send({ query: "{ n }" })).rejects.toThrow();
      expect(fake.requests()).toBe(2);
    } finally {
      await subgraph.close();
      await fake.close();
    }
  });

  test("an idle connection is closed by the gateway, before the subgraph would close it", async () => {
    const fake = await fakeSubgraph(() => "answer");
    const subgraph = subgraphAt(fake.url, 200);
    try {
      await subgraph.send({ query: "{ n }" });
      const [socket] = [...fake.connections];
      const ended = new Promise<void>((resolve) => socket!.once("end", resolve));
      // the subgraph keeps idle connections 60 s; the gateway's end arrives first
      await Promise.race([ended, new Promise((_, reject) => setTimeout(() => reject(new Error("the gateway kept the idle connection")), 5_000))]);
    } finally {
      await subgraph.close();
      await fake.close();
    }
  });

  test("our services keep an idle connection longer than the gateway does, and say so", async () => {
    expect(SERVER_KEEP_ALIVE_MS).toBeGreaterThan(SUBGRAPH_CLIENT_IDLE_MS);
    const server = createHttpServer((_req, res) => void res.end("{}"), console, { requestTimeoutMs: 60_000, maxConnections: 0 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await response.text();
      expect(response.headers.get("keep-alive")).toBe(`timeout=${SERVER_KEEP_ALIVE_MS / 1000}`);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// Through the whole gateway: a proxy in front of the real data graph resets each connection the gateway reuses,
// at the moment it is reused. Every read still answers.
describe("through the gateway, with the real data graph behind a resetting proxy", () => {
  const db = useTestDatabase();
  let proxy: TcpServer;
  let stack: Stack;
  let resets = 0;

  /** A proxy to the data graph on `port`: a connection's first request is passed on; the first bytes a client
   * sends after an answer came back (a reuse of the connection) close it at once. */
  async function resettingProxy(port: number): Promise<number> {
    proxy = createTcpServer((client) => {
      const upstream = connect(port, "127.0.0.1");
      let answered = false;
      client.on("data", (chunk) => {
        if (!answered) return upstream.write(chunk);
        resets++;
        client.destroy();
        upstream.destroy();
      });
      upstream.on("data", (chunk) => {
        answered = true;
        client.write(chunk);
      });
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    return (proxy.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    await seed(db.pool);
    stack = await startStack("distributed", db.url, {}, resettingProxy);
  });

  afterAll(async () => {
    await stack?.stop();
    await new Promise((resolve) => proxy?.close(resolve));
  });

  test("20 reads one after another all answer, though every reuse of a connection was reset", async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await post(`${stack.url}/graphql`, { query: "{ tenant(order_by: {slug: asc}) { slug } }" }));
    expect(results.map((r) => [r.status, r.body.errors])).toEqual(results.map(() => [200, undefined]));
    expect(results[0]!.body.data.tenant.length).toBeGreaterThan(0);
    // a new connection answers one request, its reuse is reset: about every second read met a reset
    expect(resets).toBeGreaterThanOrEqual(5);
  });
});
