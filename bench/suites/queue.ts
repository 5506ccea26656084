// The agent's poll, get_runs_in_queue, as a LocalAgent sends it (labels, `before` = now + 10 s, its agent id
// header), over the history the poll must not grow with (issue 21): flow runs spread over 10 tenants, a tenth of them
// Scheduled far ahead (spread over every tenant), 1 % Running with a running task run each (the poll's second
// branch reads them), the rest Success; the polled tenant has 1,000 due runs (Scheduled in the past). Straight to
// the mutations service, through the gateway, and the service's own statement through pgbench, at 1, 8 and 32 agents.
import type pg from "pg";
import { getRunsInQueue } from "../../services/domain/src/runs.ts";
import { captureQuery, inlineParameters, sqlLiteral } from "../lib/capture.ts";
import { seedInChunks, type SeedInfo } from "../lib/database.ts";
import { measureHttp, measureSql, type LoadPlan } from "../lib/measure.ts";
import { coreBody, GET_RUNS_IN_QUEUE } from "../lib/requests.ts";
import { graphql } from "../lib/services.ts";
import type { Measurement, Target } from "../lib/stats.ts";

export const QUEUE_SCALES = {
  full: { flowRuns: 1_000_000, tenants: 10, due: 1_000 },
  quick: { flowRuns: 10_000, tenants: 10, due: 100 },
} as const;
const LABELS = ["bench-queue", "host-bench"];
const QUEUE_LIMIT = 25;
/** Issue 21: the poll's SQL under 1 ms p50 on this data. */
const SQL_TARGET: Target = { text: "≤ 1 ms p50 (the poll's SQL)", kind: "p50", maxMs: 1 };

interface QueueScale {
  flowRuns: number;
  tenants: number;
  due: number;
}

/** SQL of tenant `t`'s id (tenant 0 is the polled one). */
const tenantSql = (t: number | string) => `md5('bench-poll-tenant-' || ${t})::uuid`;

/** One tenant's share of the data: its project, flows, agent and runs (chunk = tenant). */
function seedTenantSql(scale: QueueScale, t: number): string {
  const runs = Math.floor(scale.flowRuns / scale.tenants);
  const due = t === 0 ? scale.due : 0;
  const future = Math.floor(runs / 10);
  const running = Math.floor(runs / 100);
  const tenant = tenantSql(t);
  const key = (kind: string, n: string) => `md5('bench-poll-${t}-${kind}-' || ${n})::uuid`;
  return `
    set local session_replication_role = replica;
    insert into tenant (id, name, slug) values (${tenant}, 'bench poll ${t}', 'bench-poll-${t}');
    insert into project (id, tenant_id, name) values (${key("project", "0")}, ${tenant}, 'queue');
    insert into flow_group (id, tenant_id, name) select ${key("group", "f")}, ${tenant}, 'queue-' || f from generate_series(1, 100) f;
    insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id)
    select ${key("flow", "f")}, ${tenant}, ${key("project", "0")}, ${key("group", "f")}, 'queue-' || f, 1, 'queue-' || f
    from generate_series(1, 100) f;
    insert into task (id, tenant_id, flow_id, name, slug)
    select ${key("task", "f")}, ${tenant}, ${key("flow", "f")}, 'task', 'task-1' from generate_series(1, 100) f;
    create temp table queue_run on commit drop as
    select n, ${key("run", "n")} as id, ${key("flow", "(1 + n % 100)")} as flow_id, ${key("task", "(1 + n % 100)")} as task_id,
           case when n <= ${due + future} then 'Scheduled' when n <= ${due + future + running} then 'Running' else 'Success' end as state,
           case when n <= ${due} then now() - interval '1 hour' - n * interval '1 second'
                when n <= ${due + future} then timestamptz '2100-01-01' + n * interval '1 second' end as start_at
    from generate_series(1, ${runs}) n;
    -- everything but the queue's own columns (state, state_start_time) is dated a year back, so that these runs stay
    -- out of the data graph's time windows and orderings (the dashboard's last 24 h, the table page's newest first)
    insert into flow_run (id, tenant_id, flow_id, name, version, state, state_start_time, scheduled_start_time, labels,
                          serialized_state, state_timestamp, created, updated)
    select id, ${tenant}, flow_id, 'queue-run-' || n, 2, state, start_at, now() - interval '365 days',
           '["bench-queue"]'::jsonb, jsonb_build_object('type', state), now() - interval '365 days',
           now() - interval '365 days', now() - interval '365 days'
    from queue_run;
    insert into task_run (tenant_id, flow_run_id, task_id, version, state, serialized_state)
    select ${tenant}, id, task_id, 2, 'Running', jsonb_build_object('type', 'Running')
    from queue_run where state = 'Running';
    insert into agent (id, tenant_id, name, type, labels, core_version)
    values (${key("agent", "0")}, ${tenant}, 'bench-agent', 'LocalAgent', '${JSON.stringify(LABELS)}'::jsonb, '1.4.1');`;
}

export interface QueueData {
  seed: SeedInfo;
  tenantId: string;
  agentId: string;
  description: string;
}

export async function prepareQueue(pool: pg.Pool, scale: QueueScale, progress: (line: string) => void): Promise<QueueData> {
  const name = `agent-poll-${scale.flowRuns}-runs-${scale.tenants}-tenants-${scale.due}-due`;
  const seed = await seedInChunks(pool, name, scale.tenants, (client, t) => client.query(seedTenantSql(scale, t)).then(() => {}), progress);
  const { rows } = await pool.query<{ tenant: string; agent: string }>(
    `select ${tenantSql(0)}::text as tenant, md5('bench-poll-0-agent-' || 0)::uuid::text as agent`,
  );
  const count = (n: number) => n.toLocaleString("en-US");
  return {
    seed,
    tenantId: rows[0]!.tenant,
    agentId: rows[0]!.agent,
    description:
      `${count(scale.flowRuns)} flow runs over ${scale.tenants} tenants, ${count(scale.flowRuns / 10)} of them Scheduled ahead ` +
      `(every tenant), ${count(scale.due)} due in the polled one`,
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
  const points = plan;
  const sqlName = `${QUEUE_POLL} via SQL (pgbench)`;
  phase(sqlName);
  // prepared: the service sends the poll as a named statement, planned once per connection
  const measurements = await measureSql(
    connectionString,
    sql,
    points,
    { group: "agent queue", workload: sqlName, label: "SQL", target: (clients) => (clients === 1 ? SQL_TARGET : undefined) },
    { prepared: true },
  );
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
