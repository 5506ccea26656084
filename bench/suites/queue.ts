// The agent's poll, get_runs_in_queue, as a LocalAgent sends it (labels, `before` = now + 10 s, its agent id
// header), over a tenant with 100,000 flow runs of which 1,000 are due: Scheduled in the past; the others are
// Scheduled far ahead, Running (with running task runs, which the poll also looks at), or finished. Straight to
// the mutations service, through the gateway, and the service's own statement through pgbench.
import type pg from "pg";
import { getRunsInQueue } from "../../services/domain/src/runs.ts";
import { captureQuery, inlineParameters, sqlLiteral } from "../lib/capture.ts";
import { seedOnce, type SeedInfo } from "../lib/database.ts";
import { measureHttp, measureSql, type LoadPlan } from "../lib/measure.ts";
import { coreBody, GET_RUNS_IN_QUEUE } from "../lib/requests.ts";
import { graphql } from "../lib/services.ts";
import type { Measurement } from "../lib/stats.ts";

export const QUEUE_SCALES = { full: { flowRuns: 100_000, due: 1_000 }, quick: { flowRuns: 10_000, due: 100 } } as const;
const LABELS = ["bench-queue", "host-bench"];
const QUEUE_LIMIT = 25;

interface QueueScale {
  flowRuns: number;
  due: number;
}

function seedSql(scale: QueueScale): string {
  const { flowRuns, due } = scale;
  const future = Math.floor(flowRuns / 10);
  const running = Math.floor(flowRuns / 100);
  const tenant = "md5('bench-queue-tenant')::uuid";
  return `
    set local session_replication_role = replica;
    insert into tenant (id, name, slug) values (${tenant}, 'bench queue', 'bench-queue');
    insert into project (id, tenant_id, name) values (md5('bench-queue-project')::uuid, ${tenant}, 'queue');
    insert into flow_group (id, tenant_id, name) select md5('bench-queue-group-' || f)::uuid, ${tenant}, 'queue-' || f from generate_series(1, 100) f;
    insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id)
    select md5('bench-queue-flow-' || f)::uuid, ${tenant}, md5('bench-queue-project')::uuid, md5('bench-queue-group-' || f)::uuid,
           'queue-' || f, 1, 'queue-' || f
    from generate_series(1, 100) f;
    insert into task (id, tenant_id, flow_id, name, slug)
    select md5('bench-queue-task-' || f)::uuid, ${tenant}, md5('bench-queue-flow-' || f)::uuid, 'task', 'task-1' from generate_series(1, 100) f;
    create temp table queue_run on commit drop as
    select n, md5('bench-queue-run-' || n)::uuid as id, md5('bench-queue-flow-' || (1 + n % 100))::uuid as flow_id,
           md5('bench-queue-task-' || (1 + n % 100))::uuid as task_id,
           case when n <= ${due} then 'Scheduled' when n <= ${due + future} then 'Scheduled'
                when n <= ${due + future + running} then 'Running' else 'Success' end as state,
           case when n <= ${due} then now() - interval '1 hour' - n * interval '1 second'
                when n <= ${due + future} then timestamptz '2100-01-01' + n * interval '1 second' end as start_at
    from generate_series(1, ${flowRuns}) n;
    -- everything but the queue's own columns (state, state_start_time) is dated a year back, so that these runs stay
    -- out of the data graph's time windows and orderings (the dashboard's last 24 h, the table page's newest first)
    insert into flow_run (id, tenant_id, flow_id, name, version, state, state_start_time, scheduled_start_time, labels,
                          serialized_state, state_timestamp, created, updated)
    select id, ${tenant}, flow_id, 'queue-run-' || n, 2, state, start_at, now() - interval '365 days',
           '["bench-queue"]'::jsonb, jsonb_build_object('type', state), now() - interval '365 days',
           now() - interval '365 days', now() - interval '365 days'
    from queue_run;
    insert into task_run (tenant_id, flow_run_id, task_id, version, state, serialized_state)
    select ${tenant}, id, task_id, 2, case when state = 'Running' then 'Running' when state = 'Success' then 'Success' else 'Pending' end,
           jsonb_build_object('type', 'Pending')
    from queue_run;
    insert into agent (id, tenant_id, name, type, labels, core_version)
    values (md5('bench-queue-agent')::uuid, ${tenant}, 'bench-agent', 'LocalAgent', '${JSON.stringify(LABELS)}'::jsonb, '1.4.1');`;
}

interface QueueData {
  seed: SeedInfo;
  tenantId: string;
  agentId: string;
  description: string;
}

export async function prepareQueue(pool: pg.Pool, scale: QueueScale): Promise<QueueData> {
  const seed = await seedOnce(pool, `agent-queue-${scale.flowRuns}-runs-${scale.due}-due`, (client) => client.query(seedSql(scale)).then(() => {}));
  const { rows } = await pool.query<{ tenant: string; agent: string }>(
    "select md5('bench-queue-tenant')::uuid::text as tenant, md5('bench-queue-agent')::uuid::text as agent",
  );
  return {
    seed,
    tenantId: rows[0]!.tenant,
    agentId: rows[0]!.agent,
    description: `${scale.flowRuns.toLocaleString("en-US")} flow runs, ${scale.due.toLocaleString("en-US")} due`,
  };
}

const QUEUE_POLL = "get_runs_in_queue (agent poll)";

export async function measureQueue(
  connectionString: string,
  queue: QueueData,
  urls: { mutations: string; gateway: string },
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<Measurement[]> {
  const before = new Date(Date.now() + 10_000).toISOString();
  const body = coreBody(GET_RUNS_IN_QUEUE, { input: { before, labels: LABELS, tenant_id: queue.tenantId } });
  const requests = [{ body, headers: { "X-PREFECT-AGENT-ID": queue.agentId, "X-PREFECT-CORE-VERSION": "1.4.1" } }];
  // the service's own statement with the parameters it sends for this poll
  const query = await captureQuery((db) =>
    getRunsInQueue(db, { tenant_id: queue.tenantId, before, labels: LABELS, agent_id: queue.agentId, limit: QUEUE_LIMIT }),
  );
  const sql = `${inlineParameters(query, (_index, value) => sqlLiteral(value)).trim()};\n`;
  // agents are few: 1 and 8 pollers
  const points = { ...plan, clients: plan.clients.filter((c) => c <= 8) };
  const sqlName = `${QUEUE_POLL} via SQL (pgbench)`;
  phase(sqlName);
  const measurements = await measureSql(connectionString, sql, points, { group: "agent queue", workload: sqlName, label: "SQL" });
  const answer = await graphql<{ get_runs_in_queue: { flow_run_ids: string[] } }>(urls.mutations, body, requests[0]!.headers);
  if (answer.get_runs_in_queue.flow_run_ids.length !== QUEUE_LIMIT) {
    throw new Error(`get_runs_in_queue returned ${answer.get_runs_in_queue.flow_run_ids.length} runs, expected ${QUEUE_LIMIT}`);
  }
  for (const via of ["mutations", "gateway"] as const) {
    const workload = `${QUEUE_POLL} via ${via}`;
    phase(workload);
    const ceiling = via === "mutations" ? sqlName : `${QUEUE_POLL} via mutations`;
    measurements.push(...(await measureHttp(urls[via], requests, points, { group: "agent queue", workload, label: via, ceiling })));
  }
  return measurements;
}
