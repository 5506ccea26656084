// docker compose, for the infrastructure steps: whether an engine answers, and starting, stopping and finding the
// published port of one service of the repo's compose.dev.yml (development Postgres and Redis on loopback, with the
// default credentials; compose.yml is the stack for users, which publishes neither).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { PROJECT_ROOT } from "../../../shared/src/paths.ts";
import { CliError, describeError } from "../common.ts";
import type { Context } from "./waiting.ts";

const execFileAsync = promisify(execFile);

const COMPOSE_FILE = join(PROJECT_ROOT, "compose.dev.yml");
/** Its own project, so that its containers and volume are not compose.yml's. */
const COMPOSE_PROJECT = "prefect-server-dev";
const DOCKER_TIMEOUT_MS = 5_000;

export async function dockerEngineAnswers(): Promise<boolean> {
  try {
    await execFileAsync("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: DOCKER_TIMEOUT_MS });
    return existsSync(COMPOSE_FILE);
  } catch {
    return false;
  }
}

export async function docker(args: string[], timeoutMs = 300_000): Promise<string> {
  const { stdout } = await execFileAsync("docker", ["compose", "-p", COMPOSE_PROJECT, "-f", COMPOSE_FILE, ...args], {
    cwd: PROJECT_ROOT,
    timeout: timeoutMs,
  });
  return stdout.trim();
}

export async function composeUp(context: Context, service: string): Promise<void> {
  context.log(`Starting ${service} with docker compose…`);
  await docker(["up", "-d", service]).catch((error: unknown) => {
    throw new CliError(`docker compose up -d ${service} failed: ${describeError(error)}`);
  });
}

export async function composeStop(context: Context, service: string): Promise<void> {
  context.log(`Stopping ${service} (docker compose)…`);
  await docker(["stop", service]);
}

/** The host port compose published for a service's container port ("0.0.0.0:5432" → 5432). */
export async function composePort(service: string, containerPort: number): Promise<number> {
  const published = await docker(["port", service, String(containerPort)], DOCKER_TIMEOUT_MS * 2);
  const port = Number(published.split("\n")[0]?.split(":").pop());
  if (!Number.isInteger(port) || port <= 0) {
    throw new CliError(`docker compose did not publish port ${containerPort} of ${service} (got "${published}")`);
  }
  return port;
}

