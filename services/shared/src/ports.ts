// Free TCP ports, for a server that must know its port before it listens (an embedded Postgres or redis-server, the
// data graph's workers that share one port). Prefer port 0 wherever the server can report what it bound.
import { createServer, type AddressInfo } from "node:net";

/** A TCP port on `host` nothing listens on right now. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
