// The read workloads on the data graph, each straight to the postgraphile service and through the gateway, and
// as hand-written SQL through pgbench (the ceiling: what Postgres needs to produce the same answer):
//   - the UI dashboard's flow-run counts: 17 aliased flow_run_aggregate counts, one per state, filtered by the
//     project (the UI's project filter; null = all projects, its default) and by time (`updated`, or `heartbeat`
//     for the last ten states, as the UI's document does), over the last 24 h;
//   - a flow-run table page: flow_run with its flow and project and task_runs_aggregate, ordered by
//     scheduled_start_time, 10 rows, pages 1–10;
//   - flow_run_by_pk with its task runs: the selection Core reads for every flow run it runs (clients.md §1.3 #16),
//     with the id as a variable; and the same as Core sends it, the id written into the document (a new document
//     for every run: what document caches cannot help with), with Core's body (string-encoded variables) through
//     the gateway and a plain `{query}` straight to postgraphile (which, unlike the gateway, takes only JSON
//     objects as variables).
import type pg from "pg";
import { measureHttp, measureSql, type LoadPlan } from "../lib/measure.ts";
import { coreBody, uiBody } from "../lib/requests.ts";
import type { Measurement, Target } from "../lib/stats.ts";
import type { WrkRequest } from "../lib/wrk.ts";
import { flowRunIdSql, sampleFlowRunIds, type DataGraph } from "./datagraph.ts";

/** The dashboard's 17 counts in the UI's order, with the time column each one filters on. */
const DASHBOARD_COUNTS: [state: string, column: "updated" | "heartbeat"][] = [
  ...["Success", "Running", "Pending", "Failed", "ClientFailed", "Submitted", "Queued"].map((s) => [s, "updated"] as [string, "updated"]),
  ...["Resume", "Retrying", "Looped", "Cached", "Mapped", "TimedOut", "TriggerFailed", "Skipped", "Finished", "Cancelled"].map(
    (s) => [s, "heartbeat"] as [string, "heartbeat"],
  ),
];

const DASHBOARD_QUERY = `query FlowRuns($projectId: uuid, $heartbeat: timestamptz) {
${DASHBOARD_COUNTS.map(
  ([state, column]) => `  ${state}: flow_run_aggregate(
    where: {
      flow: { project_id: { _eq: $projectId } }
      ${column}: { _gte: $heartbeat }
      state: { _eq: "${state}" }
    }
  ) {
    aggregate {
      count
    }
  }`,
).join("\n")}
}`;

const TABLE_QUERY = `query FlowRunTable($projectId: uuid, $limit: Int, $offset: Int) {
  flow_run(
    where: { flow: { project_id: { _eq: $projectId } } }
    order_by: { scheduled_start_time: desc }
    limit: $limit
    offset: $offset
  ) {
    id
    name
    state
    state_message
    scheduled_start_time
    start_time
    end_time
    flow {
      id
      name
      version
      project {
        id
        name
      }
    }
    task_runs_aggregate {
      aggregate {
        count
      }
    }
  }
}`;

const BY_PK_SELECTION = `{
    id
    name
    flow_id
    parameters
    context
    version
    scheduled_start_time
    serialized_state
    task_runs(where: { map_index: { _eq: -1 } }) {
      id
      task {
        id
        slug
      }
      version
      serialized_state
    }
    flow {
      project {
        name
        id
      }
    }
  }`;

/** Core's rendering of #16 with the id inline. */
export const byPkInline = (id: string) => `query {
  flow_run_by_pk(id: "${id}") ${BY_PK_SELECTION}
}`;

const BY_PK_QUERY = `query FlowRun($id: uuid!) {
  flow_run_by_pk(id: $id) ${BY_PK_SELECTION}
}`;

/** pgbench: `:p` picks a project 0..9, or 10 = all projects (half of the draws, as the bodies do). */
const projectSql = (flow: string) => `(:p >= 10 or ${flow}.project_id = md5('bench-project-' || :p::text)::uuid)`;
const PROJECT_DRAW = "\\set p random(0, 19)\n";

function dashboardSql(since: string): string {
  const counts = DASHBOARD_COUNTS.map(
    ([state, column]) =>
      `(select count(*) from flow_run fr where exists (select 1 from flow f where f.id = fr.flow_id and ${projectSql("f")})
         and fr.${column} >= '${since}'::timestamptz and fr.state = '${state}') as "${state}"`,
  );
  return `${PROJECT_DRAW}select ${counts.join(",\n  ")};\n`;
}

const TABLE_SQL = `${PROJECT_DRAW}\\set page random(0, 9)
select coalesce(json_agg(row_to_json(x)), '[]') from (
  select fr.id, fr.name, fr.state, fr.state_message, fr.scheduled_start_time, fr.start_time, fr.end_time,
    (select json_build_object('id', f.id, 'name', f.name, 'version', f.version,
              'project', (select json_build_object('id', p.id, 'name', p.name) from project p where p.id = f.project_id))
     from flow f where f.id = fr.flow_id) as flow,
    json_build_object('aggregate', json_build_object('count', (select count(*) from task_run tr where tr.flow_run_id = fr.id))) as task_runs_aggregate
  from flow_run fr where exists (select 1 from flow f where f.id = fr.flow_id and ${projectSql("f")})
  order by fr.scheduled_start_time desc, fr.id limit 10 offset :page * 10) x;
`;

const byPkSql = (flowRuns: number) => `\\set n random(1, ${flowRuns})
select json_build_object('id', fr.id, 'name', fr.name, 'flow_id', fr.flow_id, 'parameters', fr.parameters, 'context', fr.context,
  'version', fr.version, 'scheduled_start_time', fr.scheduled_start_time, 'serialized_state', fr.serialized_state,
  'task_runs', (select coalesce(json_agg(json_build_object('id', tr.id, 'task', json_build_object('id', t.id, 'slug', t.slug),
                  'version', tr.version, 'serialized_state', tr.serialized_state) order by tr.id), '[]')
                from task_run tr join task t on t.id = tr.task_id where tr.flow_run_id = fr.id and tr.map_index = -1),
  'flow', (select json_build_object('project', json_build_object('name', p.name, 'id', p.id))
           from flow f join project p on p.id = f.project_id where f.id = fr.flow_id))
from flow_run fr where fr.id = ${flowRunIdSql(":n")};
`;

const DASHBOARD_TARGET: Target = { text: "p50 ≤ 50 ms", kind: "p50", maxMs: 50 };
const BY_PK_TARGET: Target = { text: "≥ 2,000 req/s straight to postgraphile", kind: "throughput", min: 2000 };

const readWorkload = (name: string, via: "SQL (pgbench)" | "postgraphile" | "gateway") => `${name} via ${via}`;
export const DASHBOARD = "dashboard: 17 flow_run_aggregate counts";
export const TABLE_PAGE = "flow-run table page (10 rows)";
const BY_PK = "flow_run_by_pk with task runs";
export const BY_PK_INLINE = "flow_run_by_pk with task runs, id inline (Core)";

const pick = <T>(values: T[]): T => values[Math.floor(Math.random() * values.length)]!;

interface ReadWorkload {
  name: string;
  requests: WrkRequest[];
  /** Other bodies for the same requests straight to postgraphile. */
  postgraphileRequests?: WrkRequest[];
  /** The ceiling's SQL, or the workload whose SQL ceiling this one shares. */
  sql: string | { sameAs: string };
  target?: { via: "postgraphile" | "gateway"; target: Target; atClients: "lowest" | "highest" };
}

/** The read workloads with their request pools (as sent through the gateway) and SQL ceilings. */
export async function readWorkloads(pool: pg.Pool, graph: DataGraph): Promise<ReadWorkload[]> {
  const since = new Date(graph.t0.getTime() - 24 * 3600_000).toISOString();
  const project = () => (Math.random() < 0.5 ? null : pick(graph.projectIds));
  const ids = await sampleFlowRunIds(pool, graph.flowRuns, 2_000);
  return [
    {
      name: DASHBOARD,
      requests: Array.from({ length: 200 }, () => ({ body: uiBody(DASHBOARD_QUERY, { projectId: project(), heartbeat: since }, "FlowRuns") })),
      sql: dashboardSql(since),
      target: { via: "gateway", target: DASHBOARD_TARGET, atClients: "lowest" },
    },
    {
      name: TABLE_PAGE,
      requests: Array.from({ length: 200 }, () => ({
        body: uiBody(TABLE_QUERY, { projectId: project(), limit: 10, offset: 10 * Math.floor(Math.random() * 10) }, "FlowRunTable"),
      })),
      sql: TABLE_SQL,
    },
    {
      name: BY_PK,
      requests: ids.map((id) => ({ body: uiBody(BY_PK_QUERY, { id }, "FlowRun") })),
      sql: byPkSql(graph.flowRuns),
      target: { via: "postgraphile", target: BY_PK_TARGET, atClients: "highest" },
    },
    {
      name: BY_PK_INLINE,
      requests: ids.map((id) => ({ body: coreBody(byPkInline(id), null) })),
      postgraphileRequests: ids.map((id) => ({ body: JSON.stringify({ query: byPkInline(id) }) })),
      sql: { sameAs: BY_PK },
    },
  ];
}

export async function measureReads(
  pool: pg.Pool,
  connectionString: string,
  graph: DataGraph,
  urls: { postgraphile: string; gateway: string },
  plan: LoadPlan,
  phase: (name: string) => void,
): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  const lowest = Math.min(...plan.clients);
  const highest = Math.max(...plan.clients);
  for (const workload of await readWorkloads(pool, graph)) {
    const sqlName = readWorkload(typeof workload.sql === "string" ? workload.name : workload.sql.sameAs, "SQL (pgbench)");
    if (typeof workload.sql === "string") {
      phase(sqlName);
      measurements.push(...(await measureSql(connectionString, workload.sql, plan, { group: "reads", workload: sqlName, label: "SQL" })));
    }
    for (const via of ["postgraphile", "gateway"] as const) {
      const name = readWorkload(workload.name, via);
      phase(name);
      const targeted = workload.target?.via === via ? workload.target : undefined;
      const target = (clients: number) =>
        targeted && clients === (targeted.atClients === "lowest" ? lowest : highest) ? targeted.target : undefined;
      const ceiling = via === "postgraphile" ? sqlName : readWorkload(workload.name, "postgraphile");
      const requests = via === "postgraphile" ? (workload.postgraphileRequests ?? workload.requests) : workload.requests;
      measurements.push(...(await measureHttp(urls[via], requests, plan, { group: "reads", workload: name, label: via, ceiling, target })));
    }
  }
  return measurements;
}
