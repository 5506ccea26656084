// A Python virtualenv built from a requirements file, once, and reused: the end-to-end suite's Prefect Core 1.4.1
// (tests/e2e/venv.ts) and the bench's Prefect 3 server (bench/suites/prefect3.ts).
//
// A venv lives in <root>/<key>/, key = the first 16 hex of a sha256 over the requirements file and the interpreter's
// version: a changed requirements file or another Python gets a venv of its own, built once and reused by every
// later run. Other keys' venvs under the same root are deleted once a new one is complete. A file lock
// (<root>/.lock, with the builder's pid; a dead builder's lock is taken over) makes concurrent callers build it once;
// a venv counts as built only when its `complete` marker exists, so a build that was interrupted is started again
// from scratch.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isAlive } from "./pids.ts";

const MARKER = "complete";

/** What a venv holds and how it is built. */
export interface VenvSpec {
  /** What it is for, in messages ("Prefect Core 1.4.1"). */
  purpose: string;
  /** The requirements file pip installs. */
  requirements: string;
  /** The folder holding the venvs (one per key) and their lock. */
  root: string;
  /** Interpreters tried in order unless the variable `pythonVariable` names one. */
  pythons: string[];
  pythonVariable: string;
  /** The CPython 3 minor versions the requirements install on, e.g. [7, 11]. */
  minors: [number, number];
  /** The version `prefect.__version__` must report in the built venv. */
  prefectVersion: string;
}

export interface Venv {
  /** <root>/<key> */
  dir: string;
  /** its bin/ folder (python, prefect) */
  bin: string;
  python: string;
  prefect: string;
}

/** The interpreter to build with and its version, e.g. ["python3.11", "3.11.7"]. */
export function findPython(spec: VenvSpec): { python: string; version: string } {
  const wanted = process.env[spec.pythonVariable];
  const tried: string[] = [];
  for (const python of wanted ? [wanted] : spec.pythons) {
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
    if (major === 3 && minor! >= spec.minors[0] && minor! <= spec.minors[1]) return { python, version };
    tried.push(`${python} (${version})`);
  }
  throw new Error(
    `${spec.purpose} needs CPython 3.${spec.minors[0]}–3.${spec.minors[1]}; tried ${tried.join(", ")}. ` +
      `Set ${spec.pythonVariable} to such an interpreter.`,
  );
}

/** Where the venv for the current requirements and interpreter lives (built or not). */
function venvFor(spec: VenvSpec, pythonVersion: string): Venv {
  const key = createHash("sha256")
    .update(readFileSync(spec.requirements))
    .update(`\0python ${pythonVersion.split(".").slice(0, 2).join(".")}`)
    .digest("hex")
    .slice(0, 16);
  const dir = join(spec.root, key);
  const bin = join(dir, "bin");
  return { dir, bin, python: join(bin, "python"), prefect: join(bin, "prefect") };
}

function isBuilt(venv: Venv): boolean {
  return existsSync(join(venv.dir, MARKER));
}

/** Builds the venv unless it is already built; returns it. `log` receives progress lines (pip's output included). */
export async function ensureVirtualenv(spec: VenvSpec, log: (line: string) => void = () => {}): Promise<Venv> {
  const { python, version } = findPython(spec);
  const venv = venvFor(spec, version);
  if (isBuilt(venv)) return venv;
  await mkdir(spec.root, { recursive: true });
  const release = await lock(join(spec.root, ".lock"), log);
  try {
    if (isBuilt(venv)) return venv; // built by whoever held the lock before us
    log(`Building the ${spec.purpose} virtualenv in ${venv.dir} with ${python} ${version} (a few minutes, once)`);
    await rm(venv.dir, { recursive: true, force: true });
    await run(python, ["-m", "venv", venv.dir], log);
    await run(
      venv.python,
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", "-r", spec.requirements],
      log,
    );
    // the smoke test: the CLI imports prefect and its pins, and it is the version we asked for
    const reported = (await run(venv.python, ["-c", "import prefect; print(prefect.__version__)"], () => {})).trim();
    if (reported !== spec.prefectVersion) throw new Error(`the venv's prefect reports version ${reported}, expected ${spec.prefectVersion}`);
    await run(venv.prefect, ["--help"], () => {});
    await writeFile(join(venv.dir, MARKER), `${new Date().toISOString()}\n`);
    await removeOtherVenvs(spec.root, venv, log);
    log(`${spec.purpose} virtualenv ready: ${venv.dir}`);
    return venv;
  } finally {
    await release();
  }
}

async function removeOtherVenvs(root: string, keep: Venv, log: (line: string) => void): Promise<void> {
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (!entry.isDirectory() || path === keep.dir) continue;
    log(`Removing the outdated virtualenv ${path}`);
    await rm(path, { recursive: true, force: true });
  }
}

/** Takes the lock file (waiting while a live process holds it); resolves to its release. */
async function lock(path: string, log: (line: string) => void): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && !isAlive(holder)) {
      log(`Taking over the virtualenv lock of process ${holder}, which no longer runs`);
      await rm(path, { force: true });
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
