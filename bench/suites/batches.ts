// One request of N states for one task run, and for one flow run (issue 19: "1 k states 0.4 s, 2 k 1.0 s, 4 k 3.7 s,
// 10 k 31.8 s" before migration 000007), straight to the mutations service: the time of that one request, which
// holds its run's lock for as long. The states follow one another (Running, Retrying, …) with distinct messages.
import type pg from "pg";
import { coreBody, RUNNING_STATE } from "../lib/requests.ts";

const SIZES = [1_000, 2_000, 4_000, 10_000];

async function timed(url: string, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const answer = (await response.json()) as { errors?: { message: string }[] };
  if (answer.errors?.length) throw new Error(`a batch of states failed: ${answer.errors[0]!.message}`);
  return performance.now() - started;
}

export async function measureBatches(pool: pg.Pool, mutationsUrl: string, phase: (name: string) => void): Promise<string[]> {
  const { rows } = await pool.query<{ flow_run_id: string; task_run_id: string }>(
    "select t.flow_run_id::text, t.id::text as task_run_id from task_run t join bench_target b on b.task_run_id = t.id order by b.n limit 1",
  );
  const target = rows[0]!;
  const states = (n: number) => Array.from({ length: n }, (_, i) => ({ ...RUNNING_STATE, type: i % 2 ? "Running" : "Retrying", message: `batch step ${i}` }));
  const lines: string[] = [];
  try {
    for (const size of SIZES) {
      phase(`one request of ${size} states for one run`);
      const task = await timed(
        mutationsUrl,
        coreBody("mutation($input: set_task_run_states_input!) { set_task_run_states(input: $input) { states { id } } }", {
          input: { states: states(size).map((state) => ({ task_run_id: target.task_run_id, state })) },
        }),
      );
      const flow = await timed(
        mutationsUrl,
        coreBody("mutation($input: set_flow_run_states_input!) { set_flow_run_states(input: $input) { states { id } } }", {
          input: { states: states(size).map((state) => ({ flow_run_id: target.flow_run_id, state: { ...state, type: "Running" } })) },
        }),
      );
      lines.push(`${size.toLocaleString("en")} states in one request: ${(task / 1000).toFixed(2)} s for one task run, ${(flow / 1000).toFixed(2)} s for one flow run`);
    }
  } finally {
    await pool.query("delete from task_run_state where task_run_id = $1 and message like 'batch step %'", [target.task_run_id]);
    await pool.query("delete from flow_run_state where flow_run_id = $1 and message like 'batch step %'", [target.flow_run_id]);
  }
  return [`many states per request (set_*_run_states, one run): ${lines.join("; ")}`];
}
