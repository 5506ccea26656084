// The GraphQL IDE every service serves to a browser: Ruru (a GraphiQL distribution) from node_modules, the page and
// its assets (/ruru-static/…) from the service itself, so it works with no internet access and loads nothing from a
// CDN. services.gateway.enable_playground switches it off everywhere (404). Behind an auth string the subgraphs'
// pages, like the rest of the subgraphs, answer only the gateway.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ruruHTML } from "ruru/server";
import { serveStatic } from "ruru/static";
import { HttpError, pathOf, type Handler, type Routes } from "./http.ts";

export const RURU_STATIC_PATH = "/ruru-static/";

const isRead = (request: IncomingMessage) => request.method === "GET" || request.method === "HEAD";

/** Whether a request is a browser's asking for a page (rather than a GraphQL GET). */
export const wantsPage = (request: IncomingMessage): boolean => isRead(request) && /\btext\/html\b/i.test(request.headers.accept ?? "");

/** Serves Ruru's assets; true when the request was for one. */
export const serveRuruAsset: (request: IncomingMessage, response: ServerResponse) => boolean = (() => {
  const assets = serveStatic(RURU_STATIC_PATH);
  return (request, response) => {
    if (!isRead(request) || !(request.url ?? "").startsWith(RURU_STATIC_PATH)) return false;
    assets(request, response);
    return true;
  };
})();

/** Answers with the playground page for GraphQL at `endpoint`, or 404 when it is switched off. */
export function sendPlayground(request: IncomingMessage, response: ServerResponse, endpoint: string, enabled: boolean): void {
  if (!enabled) {
    throw new HttpError(404, "NOT_FOUND", "The GraphQL playground is turned off (services.gateway.enable_playground); POST GraphQL requests here.");
  }
  const html = ruruHTML({ endpoint, staticPath: RURU_STATIC_PATH });
  response.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": String(Buffer.byteLength(html)) });
  response.end(request.method === "HEAD" ? undefined : html);
}

/** A subgraph's GraphQL handler with the playground in front of it (the page on a browser's GET), and its assets. */
export function installPlayground(routes: Routes, graphql: Handler, enabled: boolean): Handler {
  routes.addPrefix(RURU_STATIC_PATH, (request, response) => {
    if (!enabled || !serveRuruAsset(request, response)) throw new HttpError(404, "NOT_FOUND", `Nothing is served at ${pathOf(request)}.`);
  });
  return (request, response) => (wantsPage(request) ? sendPlayground(request, response, pathOf(request), enabled) : graphql(request, response));
}
