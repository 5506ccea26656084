// HTTP basic authentication (services.gateway.auth_string, env PREFECT_SERVER_API_AUTH_STRING, "user:password"): the
// self-hosting guides' single shared credential, asked for by the gateway on everything but /health and by every
// service on GET /metrics. Unset means no authentication.
import { sameSecret } from "./internal_auth.ts";

export const AUTH_REALM = "Prefect Server";

/**
 * A check of an `Authorization` header against `authString`, or null when auth is off. The credentials are
 * compared as SHA-256 digests with timingSafeEqual, so neither their content nor their length shows in the timing.
 */
export function basicAuthCheck(authString: string): ((authorization: string | undefined) => boolean) | null {
  if (authString === "") return null;
  return (authorization) => {
    const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? "");
    // Always compare, so a missing or malformed header takes as long as a wrong one.
    return sameSecret(match ? Buffer.from(match[1]!, "base64").toString("utf8") : undefined, authString);
  };
}
