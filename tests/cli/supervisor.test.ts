// The process manager behind `dev services` and `start`, with small fake child scripts; and `dev services` itself
// running fake services.
import { readFile } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";
import { Supervisor, serviceChild, type ChildSpec } from "../../services/cli/src/supervisor.ts";
import { isAlive } from "../helpers/pids.ts";
import { FAKE_SERVICES, startCli } from "./run.ts";

const CHILD = fileURLToPath(new URL("./fixtures/child.ts", import.meta.url));

function child(name: string, ...flags: string[]): ChildSpec {
  return { name, command: process.execPath, args: [CHILD, name, ...flags] };
}

function supervise(specs: ChildSpec[], graceMs = 3_000) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const supervisor = new Supervisor(specs, { stdout, stderr, graceMs });
  return {
    supervisor,
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    /** Waits until every child has printed its pid; returns them by name. */
    async pids(pattern = /^\[(\S+)\]\s+pid (\d+)$/gm): Promise<Map<string, number>> {
      for (let i = 0; i < 200; i++) {
        const found = new Map([...out.matchAll(pattern)].map((m) => [m[1]!, Number(m[2])]));
        if (found.size >= specs.length) return found;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`children did not start:\n${out}\n${err}`);
    },
  };
}

test("prefixes every line with the child's name, without colour when not on a terminal", async () => {
  const run = supervise([child("alpha"), child("b")]);
  await run.pids();
  expect(run.out).toMatch(/^\[alpha\] hello from alpha$/m);
  expect(run.out).toMatch(/^\[b\] {5}hello from b$/m);
  expect(run.err).toMatch(/^\[alpha\] err from alpha$/m);
  expect(run.out).not.toContain("\u001b[");
  expect(await run.supervisor.stop()).toBe(0);
});

test("stop() sends SIGTERM to every child and resolves to 0", async () => {
  const run = supervise([child("one"), child("two")]);
  const pids = await run.pids();
  expect(await run.supervisor.stop()).toBe(0);
  expect(run.out).toContain("one got SIGTERM");
  expect(run.out).toContain("two got SIGTERM");
  for (const pid of pids.values()) expect(await gone(pid)).toBe(true);
});

test("a child that ignores SIGTERM gets SIGKILL after the grace period, with its process group", async () => {
  const run = supervise([child("stubborn", "--ignore-term", "--grandchild"), child("polite")], 600);
  const pids = await run.pids();
  const grandchild = Number(/grandchild (\d+)/.exec(await waitForText(() => run.out, /grandchild \d+/))![1]);
  const started = Date.now();
  expect(await run.supervisor.stop()).toBe(0);
  expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  expect(run.out).toContain("stubborn ignores SIGTERM");
  expect(run.err).toContain("did not stop within 600 ms; sending SIGKILL");
  for (const pid of [...pids.values(), grandchild]) expect(await gone(pid)).toBe(true);
});

test("what a child leaves running in its process group is killed once the child has exited", async () => {
  const run = supervise([child("parent", "--grandchild")]);
  await run.pids();
  const grandchild = Number(/grandchild (\d+)/.exec(await waitForText(() => run.out, /grandchild \d+/))![1]);
  expect(await run.supervisor.stop()).toBe(0);
  expect(run.out).toContain("parent got SIGTERM");
  expect(await gone(grandchild)).toBe(true);
});

test("a crashing child stops the others and sets the exit status", async () => {
  const run = supervise([child("steady"), child("crashy", "--exit-after", "300", "7")]);
  const pids = await run.pids();
  expect(await run.supervisor.done).toBe(7);
  expect(run.err).toMatch(/\[crashy\]\s+exited with code 7; stopping the others/);
  expect(run.out).toContain("steady got SIGTERM");
  for (const pid of pids.values()) expect(await gone(pid)).toBe(true);
});

test("a command that cannot start counts as a crash", async () => {
  const run = supervise([child("fine"), { name: "missing", command: "/nonexistent/binary", args: [] }]);
  expect(await run.supervisor.done).toBe(1);
  expect(run.err).toContain("could not start");
});

test("dev services runs each built service in its own process until SIGTERM", async () => {
  const run = startCli(["dev", "services"], { PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES });
  await run.waitFor(/\[towel\].*fake towel started/);
  await run.waitFor(/\[mutations\].*fake mutations started/);
  expect(run.stdout).toContain("Not built yet: postgraphile, gateway.");
  run.child.kill("SIGTERM");
  expect(await run.exited).toBe(0);
  expect(run.stdout).toMatch(/\[towel\].*fake towel stopped/);
  expect(run.stdout).toMatch(/\[mutations\].*fake mutations stopped/);
});

test("dev services exits non-zero when a service crashes, stopping the others", async () => {
  const run = startCli(["dev", "services", "-e", "graphql,hasura,apollo"], {
    PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES,
    FAKE_SERVICE_CRASH: "towel",
  });
  expect(await run.exited).toBe(3);
  expect(run.stderr).toMatch(/\[towel\]\s+exited with code 3/);
  expect(run.stdout).not.toContain("fake mutations");
});

test("services stop by themselves when the dev services supervisor is killed outright", async () => {
  const run = startCli(["dev", "services"], { PREFECT_SERVER_SERVICES_ROOT: FAKE_SERVICES });
  const started = /^\[(towel|mutations)\]\s+\{.*"pid":(\d+).*fake \1 started/gm;
  await run.waitFor(/\[towel\].*fake towel started/);
  await run.waitFor(/\[mutations\].*fake mutations started/);
  const pids = [...run.stdout.matchAll(started)].map((match) => Number(match[2]));
  expect(pids).toHaveLength(2);
  run.child.kill("SIGKILL");
  await run.exited;
  for (const pid of pids) expect(await gone(pid, 10_000), `service process ${pid} outlived its supervisor`).toBe(true);
});

/** Whether the process is gone within `withinMs`; an orphan killed by a signal lingers until init reaps it. */
async function gone(pid: number, withinMs = 2_000): Promise<boolean> {
  for (let i = 0; i < withinMs / 25; i++) {
    if (!isAlive(pid)) return true;
    const state = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (/^\d+ \(.*\) Z/.test(state)) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

async function waitForText(read: () => string, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (pattern.test(read())) return read();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no ${pattern} in:\n${read()}`);
}

test("serviceChild: `prefect-server services <name>` under this Node, with the service's Node options", () => {
  const gateway = serviceChild("gateway", {});
  expect(gateway.command).toBe(process.execPath);
  expect(gateway.args).toEqual(["--max-semi-space-size=8", expect.stringMatching(/bin\/prefect-server\.js$/), "services", "gateway"]);
  expect(serviceChild("mutations", {}).args).toEqual([expect.stringMatching(/bin\/prefect-server\.js$/), "services", "mutations"]);
});
