/* eslint-disable @typescript-eslint/no-explicit-any -- received bodies are read field by field */
// A local HTTP receiver for cloud-hook deliveries (and any other outgoing request of the server): it records every
// request and answers 200, or the statuses it is told to fail with first.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json?: any;
  status: number;
}

export class Receiver {
  readonly requests: Received[] = [];
  /** Statuses to answer with, in order; then 200. */
  failures: number[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const status = this.failures.shift() ?? 200;
        let json: any;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        this.requests.push({ path: request.url ?? "", headers: request.headers, body, json, status });
        response.writeHead(status, { "content-type": "text/plain" }).end(status === 200 ? "ok" : "nope");
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.requests.length = 0;
    this.failures = [];
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

