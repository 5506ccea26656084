// Free TCP ports for tests that must know a port before the server that will use it starts (a process restarted on
// the same port, a URL handed to another process). Prefer port 0 wherever the server can report what it bound.
export { freePort } from "../../services/shared/src/ports.ts";
