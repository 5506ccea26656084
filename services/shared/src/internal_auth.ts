// The one door: whenever an auth string is set (services.gateway.auth_string), the subgraphs (the data graph and the
// mutations service) answer only requests carrying a secret that the gateway adds to its own requests to them, so
// that their ports, on loopback or on a container network, are no way around the gateway's basic auth.
// The secret is derived from the auth string (every service reads the same configuration), never sent to clients,
// and compared in constant time. GET /health stays open (compose and Kubernetes probes).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const INTERNAL_SECRET_HEADER = "x-prefect-server-internal";

/** The secret for `authString`, or undefined when auth is off (empty). */
export function internalSecret(authString: string): string | undefined {
  return authString === "" ? undefined : createHmac("sha256", authString).update("prefect-server: gateway to subgraph").digest("base64url");
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Whether `given` equals `expected`, in time that depends on neither (SHA-256 digests compared with
 * timingSafeEqual: no early exit on the first differing character, nor on a different length).
 */
export function sameSecret(given: string | undefined, expected: string): boolean {
  return timingSafeEqual(digest(given ?? ""), digest(expected)) && given !== undefined;
}
