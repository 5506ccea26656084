// A small, fixed data set for the data graph tests. Ids are fixed so orderings by id are predictable.
//
//   tenant alpha: projects proj-one (etl v1 archived, etl v2 with the DAG below), proj-two (report v1)
//   tenant beta:  project proj-three (etl v1)
//   DAG of etl v2 (acceptance check 62): t1→t2, t2→t3, t2→t7, t3→t4, t7→t8, t4→t9, t8→t9, t9→t10, t9→t5, and the
//   shortcut t3→t9 (t9 is reached at depth 3 and 4; the longest counts); t6 has no edges.
//   Downstream of t1: t1:0 t2:1 t3:2 t7:2 t4:3 t8:3 t9:4 t10:5 t5:5.
//   runs: run-a (etl v2, Running, agent-1), run-b (etl v2, Success), no name (report, Scheduled), run-d (beta, Failed)
import type { Pool } from "../../services/shared/src/database/pool.ts";

const id = (group: number, n: number) => `00000000-0000-4000-8000-${group.toString(16).padStart(4, "0")}${n.toString(16).padStart(8, "0")}`;

export const ids = {
  tenant: { alpha: id(1, 1), beta: id(1, 2) },
  project: { one: id(2, 1), two: id(2, 2), three: id(2, 3) },
  flowGroup: { etl: id(3, 1), report: id(3, 2), beta: id(3, 3) },
  flow: { etl1: id(4, 1), etl2: id(4, 2), report: id(4, 3), betaEtl: id(4, 4) },
  task: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i + 1}`, id(5, i + 1)])) as Record<string, string>,
  reportTask: id(5, 100),
  flowRun: { a: id(6, 1), b: id(6, 2), c: id(6, 3), d: id(6, 4) },
  agentConfig: id(7, 1),
  agent: { one: id(8, 1), two: id(8, 2) },
  log: Array.from({ length: 4 }, (_, i) => id(9, i + 1)),
  cloudHook: id(10, 1),
  message: id(11, 1),
  artifact: id(12, 1),
  missing: id(99, 99),
};

export const DAG_EDGES: ReadonlyArray<[string, string]> = [
  ["t1", "t2"],
  ["t2", "t3"],
  ["t2", "t7"],
  ["t3", "t4"],
  ["t7", "t8"],
  ["t4", "t9"],
  ["t8", "t9"],
  ["t9", "t10"],
  ["t9", "t5"],
  ["t3", "t9"],
];

export async function seed(db: Pick<Pool, "query">): Promise<void> {
  const { tenant, project, flowGroup, flow, task, flowRun } = ids;
  await db.query(
    `insert into tenant (id, name, slug, info, settings, created) values
       ($1, 'Alpha', 'alpha', null, '{}', '2024-01-01T00:00:00Z'),
       ($2, 'Beta', 'beta', '{"tier": "gold", "nested": {"list": [1, 2, 3]}}', '{"x": 1}', '2024-01-02T00:00:00Z')`,
    [tenant.alpha, tenant.beta],
  );
  await db.query(
    `insert into project (id, tenant_id, name, description, created) values
       ($1, $4, 'proj-one', 'first', '2024-01-01T00:00:01Z'),
       ($2, $4, 'proj-two', null, '2024-01-01T00:00:02Z'),
       ($3, $5, 'proj-three', 'beta''s', '2024-01-01T00:00:03Z')`,
    [project.one, project.two, project.three, tenant.alpha, tenant.beta],
  );
  await db.query(
    `insert into flow_group (id, tenant_id, name, labels, settings) values
       ($1, $4, 'group-etl', '["a", "b"]', '{"heartbeat_enabled": true}'),
       ($2, $4, 'group-report', null, '{}'),
       ($3, $5, 'group-beta', '[]', '{}')`,
    [flowGroup.etl, flowGroup.report, flowGroup.beta, tenant.alpha, tenant.beta],
  );
  await db.query(
    `insert into flow (id, tenant_id, project_id, flow_group_id, name, version, version_group_id, archived, parameters, settings, created) values
       ($1, $5, $6, $8, 'etl', 1, 'vg-etl', true, '[]', '{}', '2024-01-01T00:00:00Z'),
       ($2, $5, $6, $8, 'etl', 2, 'vg-etl', false, '[{"name": "x", "default": 1}]', '{"heartbeat_enabled": true}', '2024-01-02T00:00:00Z'),
       ($3, $5, $7, $9, 'report', 1, 'vg-report', false, '[]', '{}', '2024-01-03T00:00:00Z'),
       ($4, $10, $11, $12, 'etl', 1, 'vg-beta', false, '[]', '{}', '2024-01-04T00:00:00Z')`,
    [flow.etl1, flow.etl2, flow.report, flow.betaEtl, tenant.alpha, project.one, project.two, flowGroup.etl, flowGroup.report, tenant.beta, project.three, flowGroup.beta],
  );
  for (let i = 1; i <= 10; i++) {
    await db.query(
      `insert into task (id, tenant_id, flow_id, name, slug, max_retries, retry_delay, tags, mapped) values ($1, $2, $3, $4, $4, $5, $6, $7, $8)`,
      [task[`t${i}`], tenant.alpha, flow.etl2, `t${i}`, i % 3, i === 1 ? "00:05:00" : i === 2 ? "1 day 02:00:00" : null, JSON.stringify(i % 2 ? ["odd"] : ["even"]), i === 7],
    );
  }
  await db.query(`insert into task (id, tenant_id, flow_id, name, slug) values ($1, $2, $3, 'report-task', 'report-task')`, [ids.reportTask, tenant.alpha, flow.report]);
  for (const [up, down] of DAG_EDGES) {
    await db.query(`insert into edge (tenant_id, flow_id, upstream_task_id, downstream_task_id, key) values ($1, $2, $3, $4, $5)`, [
      tenant.alpha,
      flow.etl2,
      task[up],
      task[down],
      `${up}-${down}`,
    ]);
  }
  await db.query(`insert into agent_config (id, tenant_id, name, settings) values ($1, $2, 'config-1', '{"labels": ["x"]}')`, [ids.agentConfig, tenant.alpha]);
  await db.query(
    `insert into agent (id, tenant_id, agent_config_id, name, type, labels, last_queried) values
       ($1, $3, $4, 'agent-1', 'LocalAgent', '["x", "y"]', '2024-01-05T10:00:00.5Z'),
       ($2, $3, null, 'agent-2', 'DockerAgent', '[]', null)`,
    [ids.agent.one, ids.agent.two, tenant.alpha, ids.agentConfig],
  );
  // Inserting runs fires v1's trigger, which creates one Pending task run per task of the flow.
  await db.query(
    `insert into flow_run (id, tenant_id, flow_id, agent_id, name, state, version, scheduled_start_time, start_time, labels, parameters, times_resurrected, created) values
       ($1, $5, $7, $9, 'run-a', 'Running', 3, '2024-01-01T00:00:00.123456Z', '2024-01-01T00:01:00Z', '["x"]', '{"x": 1, "deep": {"k": [10, 20]}}', 0, '2024-02-01T00:00:00Z'),
       ($2, $5, $7, null, 'run-b', 'Success', 5, '2024-01-02T00:00:00Z', '2024-01-02T00:01:00Z', '[]', '{"x": 2}', 2, '2024-02-02T00:00:00Z'),
       ($3, $5, $8, null, null, 'Scheduled', 1, '2024-01-03T12:30:00.5Z', null, '[]', '{}', null, '2024-02-03T00:00:00Z'),
       ($4, $6, $10, null, 'run-d', 'Failed', 2, '2024-01-04T00:00:00Z', null, '["y"]', '{}', 1, '2024-02-04T00:00:00Z')`,
    [flowRun.a, flowRun.b, flowRun.c, flowRun.d, tenant.alpha, tenant.beta, flow.etl2, flow.report, ids.agent.one, flow.betaEtl],
  );
  // States below the runs' versions: the state trigger leaves the runs as seeded.
  await db.query(
    `insert into flow_run_state (tenant_id, flow_run_id, state, message, serialized_state, version, timestamp) values
       ($1, $2, 'Scheduled', 'scheduled', '{"type": "Scheduled"}', 1, '2024-01-01T00:00:00Z'),
       ($1, $2, 'Running', 'running', '{"type": "Running"}', 2, '2024-01-01T00:01:00Z'),
       ($1, $3, 'Success', 'done', '{"type": "Success"}', 1, '2024-01-02T00:01:00Z')`,
    [tenant.alpha, flowRun.a, flowRun.b],
  );
  await db.query(
    `insert into log (id, tenant_id, flow_run_id, timestamp, level, message, name) values
       ($1, $5, $6, '2024-01-01T00:00:01Z', 'INFO', 'first', 'prefect'),
       ($2, $5, $6, '2024-01-01T00:00:02Z', 'ERROR', 'second', 'prefect'),
       ($3, $5, $6, '2024-01-01T00:00:03Z', 'INFO', 'third', null),
       ($4, $5, $7, '2024-01-02T00:00:01Z', 'DEBUG', 'other run', 'prefect')`,
    [...ids.log, tenant.alpha, flowRun.a, flowRun.b],
  );
  await db.query(`insert into cloud_hook (id, tenant_id, name, type, states, config) values ($1, $2, 'hook', 'WEBHOOK', '["FAILED"]', '{"url": "http://x"}')`, [ids.cloudHook, tenant.alpha]);
  await db.query(`insert into message (id, tenant_id, type, text, content) values ($1, $2, 'CLOUD_HOOK', 'hello', '{"k": "v"}')`, [ids.message, tenant.alpha]);
  await db.query(
    `insert into task_run_artifact (id, tenant_id, task_run_id, kind, data)
     select $1, $2, id, 'markdown', '{"markdown": "# hi"}' from task_run where flow_run_id = $3 and task_id = $4`,
    [ids.artifact, tenant.alpha, flowRun.a, task.t1],
  );
  // Give run-a's task runs distinct states and start times (t1 Success … t3 Running).
  await db.query(
    `update task_run set state = case task_id when $2 then 'Success' when $3 then 'Running' else state end,
                         state_start_time = case task_id when $2 then '2024-01-01T00:00:10Z'::timestamptz when $3 then '2024-01-01T00:00:20Z'::timestamptz end,
                         version = case task_id when $2 then 3 else version end
     where flow_run_id = $1`,
    [flowRun.a, task.t1, task.t3],
  );
}

/** The key of every seeded id (`a` for flowRun.a, `etl2` for flow.etl2, `t3`, `reportTask`, `alpha`, `log0` …), for readable expectations. */
export const labelOf: ReadonlyMap<string, string> = new Map(
  Object.entries(ids).flatMap(([name, group]): Array<[string, string]> =>
    typeof group === "string"
      ? [[group, name]]
      : Object.entries(group).map(([key, id]) => [id, Array.isArray(group) ? `${name}${key}` : key]),
  ),
);
