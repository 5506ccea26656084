// HTTP basic authentication for the gateway (services.gateway.auth_string, env PREFECT_SERVER_API_AUTH_STRING,
// "user:password"): the self-hosting guides' single shared credential. Unset means no authentication.
import { createHash, timingSafeEqual } from "node:crypto";

export const AUTH_REALM = "Prefect Server";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * A check of an `Authorization` header against `authString`, or null when auth is off. The credentials are
 * compared as SHA-256 digests with timingSafeEqual, so neither their content nor their length shows in the timing.
 */
export function basicAuthCheck(authString: string): ((authorization: string | undefined) => boolean) | null {
  if (authString === "") return null;
  const expected = digest(authString);
  return (authorization) => {
    const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? "");
    const given = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
    // Always compare, so a missing or malformed header takes as long as a wrong one.
    return timingSafeEqual(digest(given), expected) && match !== null;
  };
}
