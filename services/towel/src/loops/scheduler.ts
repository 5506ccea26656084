// Scheduler (spec §5): keeps the next N events (services.towel.max_scheduled_runs_per_flow, default 10) of every
// active, unarchived flow's schedule as auto-scheduled flow runs.
//
// Set-based: flows are read a page at a time (keyset paging on id, newest first, so flows activated or archived
// meanwhile never shift a page), the runs of every event of a page are computed in memory and created with ONE
// INSERT … ON CONFLICT (idempotency_key, flow_id) DO NOTHING, which also inserts each new run's Scheduled state
// (version 1, "Flow run scheduled.") — exactly what create_flow_run writes, since the labels, parameters and name
// come from the same functions (services/mutations/src/api/runs.ts). The idempotency key makes a run appear once,
// whichever replica or API call gets there first.
//
// The schedule arithmetic (Core 1.x clocks, `next(n)`, the idempotency keys) is not done here: it comes through
// the ScheduleSource interface, implemented over the shared schedules module.
import type { Pool } from "../../../shared/src/database/pool.ts";
import { randomRunName } from "../../../mutations/src/api/names.ts";
import { runLabels, runParameters } from "../../../mutations/src/api/runs.ts";
import { isoUtcSql, serializedStateSql } from "./common.ts";

type Json = Record<string, unknown>;

/** One future event of a schedule (Core's `Schedule.next(n, return_events=True)`). */
export interface ScheduleEvent {
  start_time: Date;
  /** The clock's parameter_defaults ({} or null when it has none). */
  parameter_defaults: Json | null;
  /** The clock's labels; null (not set) is not the same as []. */
  labels: string[] | null;
}

/** The schedule arithmetic the scheduler needs (Core 1.x semantics; implemented by the shared schedules module). */
export interface ScheduleSource {
  /**
   * The next `n` events strictly after `after` of a serialized schedule (Core ScheduleSchema JSON), merged across
   * clocks in time order with identical events removed. Throws when the schedule cannot be read.
   */
  nextEvents(schedule: unknown, n: number, after: Date): ScheduleEvent[];
  /** `auto-scheduled:<UTC ISO start>`, plus `:<md5>` for an event with parameter defaults or labels. */
  idempotencyKey(event: ScheduleEvent): string;
}

export interface SchedulerOptions {
  schedules: ScheduleSource;
  /** services.towel.max_scheduled_runs_per_flow (v1: 10). */
  maxRunsPerFlow: number;
  /** Flows read per page (v1: 500). */
  pageSize?: number;
  /** "Now" for this pass (tests); default the current time. */
  now?: Date;
}

export interface SchedulerFailure {
  flow_id: string;
  message: string;
}

export interface SchedulerResult {
  /** Active flows looked at. */
  flows: number;
  /** Flow runs created by this pass. */
  runsCreated: number;
  /** Flows whose runs could not be computed (unreadable schedule, required parameters without value …). */
  failures: SchedulerFailure[];
}

export const SCHEDULER_PAGE_SIZE = 500;

interface ActiveFlow {
  id: string;
  tenant_id: string | null;
  archived: boolean;
  parameters: unknown;
  run_config: Json | null;
  environment: Json | null;
  schedule: unknown;
  group_schedule: unknown;
  group_labels: string[] | null;
  group_run_config: Json | null;
  default_parameters: Json | null;
  last_scheduled: Date | null;
}

interface NewRun {
  tenant_id: string | null;
  flow_id: string;
  parameters: Json;
  labels: string[];
  run_config: unknown;
  scheduled_start_time: string;
  idempotency_key: string;
  name: string;
}

// $1 last id of the previous page (null for the first), $2 page size.
const ACTIVE_FLOWS_SQL = `
SELECT f.id, f.tenant_id, f.archived, f.parameters, f.run_config, f.environment, f.schedule,
       fg.schedule AS group_schedule, fg.labels AS group_labels, fg.run_config AS group_run_config, fg.default_parameters,
       (SELECT max(fr.scheduled_start_time) FROM flow_run fr WHERE fr.flow_id = f.id AND fr.auto_scheduled) AS last_scheduled
FROM flow f
JOIN flow_group fg ON fg.id = f.flow_group_id
WHERE f.is_schedule_active AND NOT f.archived AND (f.schedule IS NOT NULL OR fg.schedule IS NOT NULL)
  AND ($1::uuid IS NULL OR f.id < $1::uuid)
ORDER BY f.id DESC
LIMIT $2`;

// $1 jsonb array of NewRun. The runs and their Scheduled states in one statement; the insert trigger adds the task runs.
const INSERT_RUNS_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(ord int, tenant_id uuid, flow_id uuid, parameters jsonb,
    labels jsonb, run_config jsonb, scheduled_start_time timestamptz, idempotency_key text, name text)
),
created AS (
  INSERT INTO flow_run (tenant_id, flow_id, parameters, context, labels, run_config, scheduled_start_time,
                        idempotency_key, name, auto_scheduled)
  SELECT tenant_id, flow_id, parameters, '{}'::jsonb, labels, run_config, scheduled_start_time, idempotency_key, name, true
  FROM input ORDER BY ord
  ON CONFLICT (idempotency_key, flow_id) DO NOTHING
  RETURNING id, tenant_id, scheduled_start_time
),
states AS (
  INSERT INTO flow_run_state (tenant_id, flow_run_id, version, state, message, result, start_time, serialized_state, timestamp)
  SELECT tenant_id, id, 1, 'Scheduled', 'Flow run scheduled.', '{"type": "NoResultType"}'::jsonb, scheduled_start_time,
         ${serializedStateSql("'Scheduled'", "'Flow run scheduled.'", { extra: { start_time: isoUtcSql("scheduled_start_time") } })},
         clock_timestamp()
  FROM created
)
SELECT count(*)::int AS created FROM created`;

const hasValues = (value: Json | null): boolean => value != null && Object.keys(value).length > 0;

/** The runs one flow still needs: its next events, minus plain events not after its last auto-scheduled run. */
export function runsForFlow(flow: ActiveFlow, options: SchedulerOptions, now: Date): NewRun[] {
  const schedule = flow.group_schedule ?? flow.schedule;
  if (schedule == null) return [];
  const events = options.schedules.nextEvents(schedule, options.maxRunsPerFlow, now);
  const runs: NewRun[] = [];
  for (const event of events) {
    const plain = !hasValues(event.parameter_defaults) && event.labels == null;
    if (plain && flow.last_scheduled && event.start_time.getTime() <= flow.last_scheduled.getTime()) continue;
    runs.push({
      tenant_id: flow.tenant_id,
      flow_id: flow.id,
      parameters: runParameters(flow.parameters, flow.default_parameters, event.parameter_defaults ?? {}),
      labels: runLabels({ labels: event.labels }, flow),
      run_config: flow.group_run_config ?? flow.run_config ?? null,
      scheduled_start_time: event.start_time.toISOString(),
      idempotency_key: options.schedules.idempotencyKey(event),
      name: randomRunName(),
    });
  }
  return runs;
}

/** One Scheduler pass over every active flow. */
export async function runScheduler(db: Pool, options: SchedulerOptions): Promise<SchedulerResult> {
  const pageSize = options.pageSize ?? SCHEDULER_PAGE_SIZE;
  const now = options.now ?? new Date();
  const result: SchedulerResult = { flows: 0, runsCreated: 0, failures: [] };
  let after: string | null = null;
  for (;;) {
    const page = await db.query<ActiveFlow>({ name: "towel.scheduler.flows", text: ACTIVE_FLOWS_SQL, values: [after, pageSize] });
    const flows: ActiveFlow[] = page.rows;
    if (flows.length === 0) break;
    result.flows += flows.length;
    after = flows[flows.length - 1]!.id;
    const runs: NewRun[] = [];
    for (const flow of flows) {
      try {
        runs.push(...runsForFlow(flow, options, now));
      } catch (error) {
        result.failures.push({ flow_id: flow.id, message: error instanceof Error ? error.message : String(error) });
      }
    }
    if (runs.length > 0) {
      const { rows } = await db.query<{ created: number }>({ name: "towel.scheduler.insert", text: INSERT_RUNS_SQL, values: [JSON.stringify(runs.map((run, ord) => ({ ord, ...run })))] });
      result.runsCreated += rows[0]!.created;
    }
    if (flows.length < pageSize) break;
  }
  return result;
}
