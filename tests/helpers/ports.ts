// Free TCP ports for tests that must know a port before the server that will use it starts (a process restarted on
// the same port, a URL handed to another process). Prefer port 0 wherever the server can report what it bound.
import { createServer } from "node:net";

/** A loopback TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
