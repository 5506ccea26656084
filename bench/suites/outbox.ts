// What the cloud-hook outbox costs the write path (issue 19: "its relay adds nothing measurable to the state-write
// benchmark"), straight to the mutations service at 32 clients on the state-write targets:
//   relay        Core's set_task_run_states, 1 state (the state-write benchmark's request), with the towel stopped,
//                running (its relay polls the outbox every 200 ms, finding nothing: no hook) and stopped again (the
//                state tables grow during a run, so the towel's row is compared with both);
//   trigger      Core's set_flow_run_states, 1 state, on the targets' 100 Running flow runs, without a hook and with
//                a WEBHOOK hook on RUNNING for their tenant, the towel stopped: every state write then also writes its
//                outbox row (the cost of owing a delivery);
//   delivery     the same with the towel running, relaying and delivering every one of them to a local receiver on
//                the same machine (the work v1 did inside its API process, here beside the writes).
// Each measured row is a share of its "without" row, measured before it; the note compares the towel's row with the
// mean of the towel-stopped rows before and after it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Queue } from "bullmq";
import type pg from "pg";
import { CLOUD_HOOK_QUEUE } from "../../services/domain/src/cloud_hooks/events.ts";
import { measureHttp, type LoadPlan } from "../lib/measure.ts";
import { coreBody, RUNNING_STATE, setTaskRunStatesBody } from "../lib/requests.ts";
import { startService, stopServices, type ServiceOptions } from "../lib/services.ts";
import type { Measurement } from "../lib/stats.ts";
import type { WrkRequest } from "../lib/wrk.ts";

const SET_FLOW_RUN_STATES = `mutation($input: set_flow_run_states_input!) {
    set_flow_run_states(input: $input) {
        states {
            id
            status
            message
        }
    }
}`;
const CLIENTS = 32;
/** How long the towel runs before a workload is measured with it. */
const TOWEL_SETTLE_MS = 5_000;
const CORE_HEADERS = { "X-PREFECT-CORE-VERSION": "1.4.1" };
const TASK_NO_TOWEL = "1 state, set_task_run_states via mutations, towel stopped";
const TASK_TOWEL = "1 state, set_task_run_states via mutations, towel running (outbox relay polling)";
const TASK_NO_TOWEL_AGAIN = "1 state, set_task_run_states via mutations, towel stopped again";
const FLOW_NO_HOOK = "1 state, set_flow_run_states via mutations, no hook";
const FLOW_HOOK = "1 state, set_flow_run_states via mutations, a hook on every state (outbox row), towel stopped";
const FLOW_DELIVERED = "1 state, set_flow_run_states via mutations, a hook on every state, relayed and delivered";

export async function measureOutbox(
  pool: pg.Pool,
  mutationsUrl: string,
  taskRunIds: string[],
  options: ServiceOptions,
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<{ measurements: Measurement[]; notes: string[] }> {
  const one = { ...plan, clients: [CLIENTS] };
  const measurements: Measurement[] = [];
  // deliveries an interrupted earlier run left in the queue would be worked off while this one measures
  const queue = new Queue(CLOUD_HOOK_QUEUE, { connection: { url: options.redisUrl }, prefix: options.queuePrefix });
  const emptyQueue = () => queue.obliterate({ force: true });
  await emptyQueue();
  const measure = async (requests: WrkRequest[], workload: string, ceiling?: string) => {
    phase(workload);
    measurements.push(...(await measureHttp(mutationsUrl, requests, one, { group: "writes", workload, label: workload, ceiling })));
  };

  // relay: the state-write benchmark's request, towel stopped and running
  const taskRequests = taskRunIds.slice(0, 2_000).map((id) => ({ body: setTaskRunStatesBody([id]), headers: CORE_HEADERS }));
  await measure(taskRequests, TASK_NO_TOWEL);
  let towel = await startService("towel", options);
  // past its start: module loading and the first pass of each loop (the ZombieKiller's scans the task runs)
  await new Promise((resolve) => setTimeout(resolve, TOWEL_SETTLE_MS));
  try {
    await measure(taskRequests, TASK_TOWEL, TASK_NO_TOWEL);
  } finally {
    await stopServices([towel]);
  }
  await measure(taskRequests, TASK_NO_TOWEL_AGAIN);
  const towelShare = (() => {
    const [before, running, after] = [TASK_NO_TOWEL, TASK_TOWEL, TASK_NO_TOWEL_AGAIN].map((name) => measurements.find((m) => m.workload === name)!.throughput);
    return running! / ((before! + after!) / 2);
  })();

  // trigger and delivery: flow-run states with and without a hook
  const { rows: runs } = await pool.query<{ id: string; tenant_id: string }>(
    "select fr.id::text, fr.tenant_id::text from flow_run fr join flow f on f.id = fr.flow_id where f.name = 'bench-states' order by fr.id",
  );
  const flowRequests = runs.map((run) => ({
    body: coreBody(SET_FLOW_RUN_STATES, { input: { states: [{ flow_run_id: run.id, version: null, state: { ...RUNNING_STATE, message: "Running flow." } }] } }),
    headers: CORE_HEADERS,
  }));
  let delivered = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      delivered++;
      response.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  let owed: { outcome: string | null; count: number }[] | undefined;
  try {
    await measure(flowRequests, FLOW_NO_HOOK);
    const { rows: hook } = await pool.query<{ id: string }>(
      `insert into cloud_hook (tenant_id, type, states, config) values ($1, 'WEBHOOK', '["RUNNING"]', jsonb_build_object('url', $2::text)) returning id::text`,
      [runs[0]!.tenant_id, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`],
    );
    try {
      await measure(flowRequests, FLOW_HOOK, FLOW_NO_HOOK);
      // what the stopped towel owes is not delivered: only the next workload's deliveries are
      await pool.query("update internal.outbox set done = now(), outcome = 'dropped' where done is null");
      towel = await startService("towel", options);
      await new Promise((resolve) => setTimeout(resolve, TOWEL_SETTLE_MS));
      try {
        await measure(flowRequests, FLOW_DELIVERED, FLOW_NO_HOOK);
      } finally {
        await stopServices([towel]);
      }
    } finally {
      await pool.query("delete from cloud_hook where id = $1", [hook[0]!.id]);
    }
    owed = (await pool.query<{ outcome: string | null; count: number }>("select outcome, count(*)::int from internal.outbox group by 1 order by 1")).rows;
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
    await emptyQueue();
    await queue.close();
    await pool.query("delete from internal.outbox");
    await pool.query(
      "delete from flow_run_state s using flow_run fr join flow f on f.id = fr.flow_id where s.flow_run_id = fr.id and f.name = 'bench-states' and s.message = 'Running flow.'",
    );
  }
  return {
    measurements,
    notes: [
      `outbox: set_task_run_states with the towel running at ${(towelShare * 100).toFixed(1)} % of the mean of towel stopped before and after; ` +
        `${delivered} deliveries received; outbox rows by outcome at the end: ${JSON.stringify(owed)} (the dropped ones: owed while the towel was stopped)`,
    ],
  };
}
