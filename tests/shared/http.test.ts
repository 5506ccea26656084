// The HTTP kit every service listens with (services/shared/src/http.ts), as a public service needs it: an oversized
// body is read and dropped so that its 413 reaches the client still sending it; a client sending its headers slowly
// is answered 408 and let go; one connection over the cap is answered 503 while the others are served.
import type { Server } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { closeServer, createHttpServer, listen, readBody, sendJson } from "../../services/shared/src/http.ts";

const LIMIT = 4 * 1024 * 1024;
const quiet = { error: () => {} };
let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server) await closeServer(server, true);
  server = undefined;
});

async function start(options: { requestTimeoutMs?: number; maxConnections?: number } = {}): Promise<number> {
  server = createHttpServer(
    async (request, response) => {
      const body = await readBody(request, { limit: LIMIT, setting: "test.body_limit", name: "test server" });
      sendJson(response, 200, { received: body.length });
    },
    quiet,
    { name: "test server", requestTimeoutMs: options.requestTimeoutMs ?? 10_000, maxConnections: options.maxConnections ?? 0 },
  );
  return (await listen(server, 0, "127.0.0.1")).port;
}

/**
 * POSTs `size` bytes and only then reads the answer, as Python's `requests` (Prefect Core) does: a server that
 * answers and closes the connection before the body is all sent breaks the pipe (rejects with the error's code).
 */
function postThenRead(port: number, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    sockets.push(socket);
    let received = "";
    let failed = false;
    socket.on("data", (data: Buffer) => (received += data.toString("utf8")));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      failed = true;
      reject(new Error(error.code ?? error.message));
    });
    socket.on("close", () => {
      if (failed) return;
      const match = /^HTTP\/1\.1 (\d+)[^]*?\r\n\r\n([^]*)$/.exec(received);
      if (match) resolve({ status: Number(match[1]), body: match[2]! });
      else reject(new Error(`no answer: ${JSON.stringify(received.slice(0, 80))}`));
    });
    socket.write(`POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${size}\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, "x");
    let sent = 0;
    const more = () => {
      while (sent < size && !failed) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        if (!socket.write(part)) return void socket.once("drain", more);
      }
    };
    more();
  });
}

/** A raw connection, and what it has received when the server closes it. */
function rawConnection(port: number): { socket: Socket; closed: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  let received = "";
  socket.on("data", (data: Buffer) => (received += data.toString("utf8")));
  socket.on("error", () => {});
  return { socket, closed: new Promise((resolve) => socket.on("close", () => resolve(received))) };
}

describe("request bodies", () => {
  test("a body within the limit is read", async () => {
    expect(await postThenRead(await start(), LIMIT)).toEqual({ status: 200, body: JSON.stringify({ received: LIMIT }) });
  });

  test("a body over the limit gets its 413 once sent, rather than a broken pipe", async () => {
    const answer = await postThenRead(await start(), 3.5 * LIMIT);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).errors[0].message).toBe(`The request body is larger than the test server accepts (${LIMIT} bytes; test.body_limit).`);
  });

  test("a body far over the limit is answered 413 without being read to its end, and the server serves on", async () => {
    const port = await start();
    const answer = await postThenRead(port, 16 * LIMIT).catch(() => ({ status: 0, body: "" }));
    // the 413 is sent at once and the connection closed; a client still sending may see either
    expect([413, 0]).toContain(answer.status);
    expect(await postThenRead(port, 10)).toEqual({ status: 200, body: JSON.stringify({ received: 10 }) });
  });
});

describe("slow clients", () => {
  test("headers that never finish are answered 408 and the connection closed", async () => {
    const port = await start({ requestTimeoutMs: 1_000 });
    const { socket, closed } = rawConnection(port);
    socket.write("POST / HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => socket.writable && socket.write("X-Slow: 1\r\n"), 200);
    try {
      expect(await closed).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe("the connection cap", () => {
  test("one connection over the cap is answered 503 and closed; the others are served", async () => {
    const port = await start({ maxConnections: 2 });
    const held = [rawConnection(port), rawConnection(port)];
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once("connect", resolve))));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the server count both
    const over = rawConnection(port);
    const refused = await over.closed;
    expect(refused).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(refused).toContain("too many open connections (services.max_connections)");
    // the held connections are served
    held[0]!.socket.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    expect(await held[0]!.closed).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"received":2/);
    // and once one is gone, a new client is served too
    expect(await postThenRead(port, 3)).toEqual({ status: 200, body: JSON.stringify({ received: 3 }) });
  });
});
