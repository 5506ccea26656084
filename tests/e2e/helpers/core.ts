// Prefect Core 1.4.1, the real client, driven from the tests: its CLI (`prefect …`), Python snippets using its
// `Client`, and LocalAgents. Everything runs with an environment of its own per test file:
//
//   HOME, PREFECT__HOME_DIR       <workDir>/home: Core's config, results and flow storage stay in the test's folder
//   PREFECT__BACKEND=server       and PREFECT__SERVER__ENDPOINT = the gateway (credentials in the URL with auth on)
//   PATH                          the venv's bin first (the LocalAgent starts flow runs with sys.executable)
//
// and nothing inherited from the outer environment whose name starts with PREFECT or PYTHON.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Venv } from "../venv.ts";
import { ManagedProcess, runToCompletion } from "./processes.ts";

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;
const AGENT_START_TIMEOUT_MS = 60_000;

export interface CommandResult {
  code: number | null;
  output: string;
}

export interface CoreOptions {
  venv: Venv;
  /** the server's endpoint as Core should use it (http://[user:password@]127.0.0.1:<port>) */
  endpoint: string;
  workDir: string;
  /** more environment for every command and agent */
  env?: Record<string, string>;
}

export class Core {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string;
  private readonly venv: Venv;
  private readonly workDir: string;
  private readonly agents = new Set<Agent>();
  private commands = 0;

  constructor(options: CoreOptions) {
    this.venv = options.venv;
    this.workDir = options.workDir;
    this.home = join(options.workDir, "home");
    mkdirSync(join(this.home, ".prefect"), { recursive: true });
    const inherited: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^(PREFECT|PYTHON|VIRTUAL_ENV$)/i.test(key)) inherited[key] = value;
    }
    this.env = {
      ...inherited,
      HOME: this.home,
      PATH: `${options.venv.bin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      VIRTUAL_ENV: options.venv.dir,
      PYTHONUNBUFFERED: "1",
      PYTHONDONTWRITEBYTECODE: "1",
      PREFECT__HOME_DIR: join(this.home, ".prefect"),
      PREFECT__BACKEND: "server",
      PREFECT__SERVER__ENDPOINT: options.endpoint,
      // Core checks for a cancelled flow run every 15 s and flushes logs every 5 s; faster for the tests
      PREFECT__CLOUD__CHECK_CANCELLATION_INTERVAL: "1",
      PREFECT__CLOUD__LOGGING_HEARTBEAT: "1",
      ...options.env,
    };
  }

  /** `prefect <args>`; resolves with its exit code and output (stdout and stderr interleaved). */
  async prefect(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CommandResult> {
    return this.run(this.venv.prefect, args, options);
  }

  /** `prefect <args>`, which must succeed; resolves with its output. */
  async prefectOk(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<string> {
    const result = await this.prefect(args, options);
    if (result.code !== 0) throw new Error(`prefect ${args.join(" ")} exited with ${result.code}:\n${result.output}`);
    return result.output;
  }

  /**
   * Runs a Python snippet with the venv's interpreter (`import prefect` works; `argv` arrive as sys.argv[1:]);
   * it must succeed. Resolves with its output.
   */
  async python(code: string, argv: string[] = []): Promise<string> {
    const result = await this.run(this.venv.python, ["-c", code, ...argv], {});
    if (result.code !== 0) throw new Error(`python snippet exited with ${result.code}:\n${code}\n---\n${result.output}`);
    return result.output;
  }

  private async run(
    command: string,
    args: string[],
    options: { timeoutMs?: number; env?: Record<string, string> },
  ): Promise<CommandResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const n = ++this.commands;
    const result = await runToCompletion({
      command,
      args,
      env: { ...this.env, ...options.env },
      cwd: this.workDir,
      logFile: join(this.workDir, `command-${String(n).padStart(3, "0")}.log`),
      label: `${command.split("/").pop()} ${args[0] ?? ""}`,
      timeoutMs,
    });
    if (result.timedOut) {
      throw new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs / 1000} s:\n${result.output}`);
    }
    return result;
  }

  /**
   * Starts `prefect agent local start` and waits until it polls. Without `hostnameLabel: false` the agent carries
   * the machine's hostname label as well, as Core's default does.
   */
  async startAgent(options: { labels?: string[]; hostnameLabel?: boolean } = {}): Promise<Agent> {
    const name = `e2e-agent-${randomBytes(3).toString("hex")}`;
    const args = ["agent", "local", "start", "--name", name, "--show-flow-logs", "--log-level", "DEBUG"];
    for (const label of options.labels ?? []) args.push("--label", label);
    if (options.hostnameLabel === false) args.push("--no-hostname-label");
    const agent = new Agent(
      name,
      new ManagedProcess({
        command: this.venv.prefect,
        args,
        env: this.env,
        cwd: this.workDir,
        logFile: join(this.workDir, `${name}.log`),
        label: `agent ${name}`,
      }),
    );
    this.agents.add(agent);
    void agent.process.exited.then(() => this.agents.delete(agent));
    await agent.process.waitForLine(
      (line) => (line.includes("Waiting for flow runs") ? true : undefined),
      AGENT_START_TIMEOUT_MS,
      '"Waiting for flow runs..."',
    );
    return agent;
  }

  /** The output of every agent still running (for failure messages). */
  agentTails(lines = 30): string {
    return [...this.agents].map((agent) => `--- ${agent.name}\n${agent.process.tail(lines)}`).join("\n");
  }

  /** Stops every agent still running. */
  async stopAgents(): Promise<void> {
    await Promise.all([...this.agents].map((agent) => agent.stop()));
  }
}

export class Agent {
  readonly name: string;
  readonly process: ManagedProcess;

  constructor(name: string, process: ManagedProcess) {
    this.name = name;
    this.process = process;
  }

  /** Ctrl-C, as a user stops an agent; its flow-run subprocesses go with it. */
  async stop(): Promise<void> {
    await this.process.stop("SIGINT", 10_000);
  }

  /** A machine dying under the agent: SIGKILL to the agent and every flow run it started, at once. */
  async crash(): Promise<void> {
    this.process.killGroup("SIGKILL");
    await this.process.exited;
  }
}
