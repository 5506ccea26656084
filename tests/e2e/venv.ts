// The virtualenv with the real Prefect Core 1.4.1 client that the end-to-end suite drives.
//
//   node tests/e2e/venv.ts        builds it if needed (what `make test` runs before vitest) and prints its path
//   ensureVenv()                  the same from a test (tests/e2e/harness.ts), so `npx vitest run tests/e2e` works alone
//
// The venv lives in tests/.venv/<key>/, key = the first 16 hex of a sha256 over tests/e2e/requirements.txt and the
// interpreter's version: a changed requirements file or another Python gets a venv of its own, built once and reused
// by every later run. Other keys' venvs are deleted once a new one is complete. A file lock (tests/.venv/.lock, with
// the builder's pid; a dead builder's lock is taken over) makes concurrent callers build it once; a venv counts as
// built only when its `complete` marker exists, so a build that was interrupted is started again from scratch.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive } from "../helpers/pids.ts";

const HERE = dirname(fileURLToPath(import.meta.url));
export const REQUIREMENTS = join(HERE, "requirements.txt");
export const VENVS_ROOT = resolve(HERE, "..", ".venv");
const LOCK = join(VENVS_ROOT, ".lock");
const MARKER = "complete";
/** Interpreters tried in order unless PREFECT_SERVER_TEST_PYTHON names one. Core 1.4.1 needs 3.7–3.11. */
const CANDIDATES = ["python3.11", "python3.10", "python3.9", "python3.8", "python3"];

export interface Venv {
  /** tests/.venv/<key> */
  dir: string;
  /** its bin/ folder (python, prefect) */
  bin: string;
  python: string;
  prefect: string;
}

/** The interpreter to build with and its version, e.g. ["python3.11", "3.11.7"]. */
export function findPython(): { python: string; version: string } {
  const wanted = process.env.PREFECT_SERVER_TEST_PYTHON;
  const tried: string[] = [];
  for (const python of wanted ? [wanted] : CANDIDATES) {
    let version: string;
    try {
      version = execFileSync(python, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      tried.push(`${python} (not found)`);
      continue;
    }
    const [major, minor] = version.split(".").map(Number);
    if (major === 3 && minor! >= 7 && minor! <= 11) return { python, version };
    tried.push(`${python} (${version})`);
  }
  throw new Error(
    `The end-to-end tests need CPython 3.7–3.11 for Prefect Core 1.4.1; tried ${tried.join(", ")}. ` +
      "Set PREFECT_SERVER_TEST_PYTHON to such an interpreter.",
  );
}

/** Where the venv for the current requirements and interpreter lives (built or not). */
export function venvFor(pythonVersion: string): Venv {
  const key = createHash("sha256")
    .update(readFileSync(REQUIREMENTS))
    .update(`\0python ${pythonVersion.split(".").slice(0, 2).join(".")}`)
    .digest("hex")
    .slice(0, 16);
  const dir = join(VENVS_ROOT, key);
  const bin = join(dir, "bin");
  return { dir, bin, python: join(bin, "python"), prefect: join(bin, "prefect") };
}

export function isBuilt(venv: Venv): boolean {
  return existsSync(join(venv.dir, MARKER));
}

/** Builds the venv unless it is already built; returns it. `log` receives progress lines (pip's output included). */
export async function ensureVenv(log: (line: string) => void = () => {}): Promise<Venv> {
  const { python, version } = findPython();
  const venv = venvFor(version);
  if (isBuilt(venv)) return venv;
  await mkdir(VENVS_ROOT, { recursive: true });
  const release = await lock(log);
  try {
    if (isBuilt(venv)) return venv; // built by whoever held the lock before us
    log(`Building the Prefect Core virtualenv in ${venv.dir} with ${python} ${version} (a few minutes, once)`);
    await rm(venv.dir, { recursive: true, force: true });
    await run(python, ["-m", "venv", venv.dir], log);
    await run(
      venv.python,
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "-r", REQUIREMENTS],
      log,
    );
    // the smoke test: the CLI imports Core and its pins, and it is the version we asked for
    const reported = (await run(venv.python, ["-c", "import prefect; print(prefect.__version__)"], () => {})).trim();
    if (reported !== "1.4.1") throw new Error(`the venv's prefect reports version ${reported}, expected 1.4.1`);
    await run(venv.prefect, ["--help"], () => {});
    await writeFile(join(venv.dir, MARKER), `${new Date().toISOString()}\n`);
    await removeOtherVenvs(venv, log);
    log(`Prefect Core virtualenv ready: ${venv.dir}`);
    return venv;
  } finally {
    await release();
  }
}

async function removeOtherVenvs(keep: Venv, log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(VENVS_ROOT, { withFileTypes: true })) {
    const path = join(VENVS_ROOT, entry.name);
    if (!entry.isDirectory() || path === keep.dir) continue;
    log(`Removing the outdated virtualenv ${path}`);
    await rm(path, { recursive: true, force: true });
  }
}

/** Takes tests/.venv/.lock (waiting while a live process holds it); resolves to its release. */
async function lock(log: (line: string) => void): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(LOCK, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(LOCK, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(LOCK, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      log(`Taking over the virtualenv lock of process ${holder}, which no longer runs`);
      await rm(LOCK, { force: true });
      continue;
    }
    if (!announced) log(`Waiting for process ${holder || "?"}, which is building the virtualenv`);
    announced = true;
    await new Promise((done) => setTimeout(done, 500));
  }
}

/** Runs a command, passing its output lines to `log`; resolves to its stdout, rejects with its tail on failure. */
function run(command: string, args: string[], log: (line: string) => void): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PIP_NO_INPUT: "1" } });
    let stdout = "";
    const tail: string[] = [];
    const collect = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString();
      if (isStdout) stdout += text;
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        log(line);
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    };
    child.stdout.on("data", (chunk: Buffer) => collect(chunk, true));
    child.stderr.on("data", (chunk: Buffer) => collect(chunk, false));
    child.on("error", fail);
    child.on("close", (code, signal) => {
      if (code === 0) done(stdout);
      else fail(new Error(`${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${tail.join("\n")}`));
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  ensureVenv((line) => console.log(line)).then(
    (venv) => console.log(`Prefect Core 1.4.1: ${venv.prefect}`),
    (error: unknown) => {
      console.error(`Error: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
