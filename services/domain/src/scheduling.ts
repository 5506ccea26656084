// Flow schedules (docs/v1-compatibility.md, Schedules).
//
// scheduleFlowRuns is the run-creation step v1 called schedule_flow_runs, set-based: it takes a page of flows, reads
// their schedules (the flow group's wins over the flow's) with the shared schedules module, and creates the runs of
// all their next events with ONE insert (insertFlowRuns: the same rows, Scheduled states and precedence rules as
// create_flow_run). The towel's scheduler loop calls it for each page of active flows; the API calls it when a
// schedule is switched on or changed.
import type { Pool, PoolClient } from "../../shared/src/database/pool.ts";
import { withTransaction } from "../../shared/src/database/pool.ts";
import { ApiError } from "./errors.ts";
import { pythonRepr } from "./python.ts";
import type { Logger } from "../../shared/src/logger.ts";
import {
  findZone,
  formatWall,
  hasParametersOrLabels,
  idempotencyKey,
  isoUtcMicros,
  nextEvents,
  now as nowInstant,
  parseClock,
  parseSchedule,
  toWall,
  type Instant,
} from "./schedules/index.ts";
import { FLOW_FOR_RUN_COLUMNS, insertFlowRuns, newFlowRun, type FlowForRun, type NewFlowRun } from "./runs.ts";
import { isObject, type Json } from "./inputs.ts";

type Queryable = Pool | PoolClient;


export const REQUIRED_PARAMETERS = "Can not schedule a flow that has required parameters.";

export interface ScheduleFlowRunsOptions {
  /** How many next events of each flow to schedule (`services.towel.max_scheduled_runs_per_flow`, 10). */
  maxRuns: number;
  /** "Now" for the schedules (tests). */
  now?: Instant;
  /** Where flows that cannot be scheduled (unreadable schedule, missing required parameters) are reported. */
  log?: Logger;
  /**
   * Runs the insert of the computed runs (default: at once). The towel's scheduler passes a concurrency limit
   * (p-limit), so that it can read and compute the next page while earlier pages are being inserted.
   */
  insertGate?: <T>(insert: () => Promise<T>) => Promise<T>;
}

/** A flow whose runs could not be computed, and why. */
export interface ScheduleFailure {
  flow_id: string;
  message: string;
}

/**
 * What scheduleFlowRuns did: per flow id, the ids of its runs for the events it scheduled (existing runs whose
 * idempotency key matched included, as v1 returned them); plus how many flows could be scheduled, how many runs are
 * new and which flows failed.
 */
export class ScheduledFlowRuns extends Map<string, string[]> {
  /** Schedulable flows among those asked for (active, unarchived, with a schedule), failed ones included. */
  flows = 0;
  /** Runs this call created. */
  created = 0;
  readonly failures: ScheduleFailure[] = [];
}

interface FlowToSchedule extends FlowForRun {
  schedule: unknown;
  last_scheduled: Date | null;
}

// The flows of the page that are schedulable: active, unarchived, with a schedule on the flow or its group (the
// group's wins), and the latest start time of their auto-scheduled runs.
const FLOWS_TO_SCHEDULE_SQL = `
SELECT ${FLOW_FOR_RUN_COLUMNS}, COALESCE(fg.schedule, f.schedule) AS schedule,
  (SELECT max(fr.scheduled_start_time) FROM flow_run fr WHERE fr.flow_id = f.id AND fr.auto_scheduled) AS last_scheduled
FROM flow f JOIN flow_group fg ON fg.id = f.flow_group_id
WHERE f.id = ANY($1::uuid[]) AND f.is_schedule_active AND NOT f.archived AND COALESCE(fg.schedule, f.schedule) IS NOT NULL
ORDER BY f.id`;

/**
 * The runs one flow's next events become. Throws when its schedule cannot be read or a required parameter has no
 * value.
 */
function runsOfFlow(flow: FlowToSchedule, options: ScheduleFlowRunsOptions): NewFlowRun[] {
  const now = options.now ?? nowInstant();
  const events = nextEvents(parseSchedule(flow.schedule), options.maxRuns, now);
  // Plain events at or before the latest auto-scheduled run are skipped; events with parameters or labels are
  // not (their idempotency key finds the existing run).
  const last = flow.last_scheduled ? flow.last_scheduled.getTime() * 1000 : now;
  const runs = new Map<string, NewFlowRun>();
  for (const event of events) {
    if (!hasParametersOrLabels(event) && event.start <= last) continue;
    const key = idempotencyKey(event);
    if (runs.has(key)) continue; // v1's key can coincide for different parameters; the first event wins there too
    const input = { scheduled_start_time: isoUtcMicros(event.start), parameters: event.parameter_defaults, labels: event.labels, idempotency_key: key };
    runs.set(key, newFlowRun(flow, input, true));
  }
  return [...runs.values()];
}

/**
 * schedule_flow_runs for a page of flows: creates the runs of each schedulable flow's next `maxRuns` events (all
 * flows in one statement) and returns, per flow id, the ids of its runs for those events (existing runs included).
 * Flows that are inactive, archived, without schedule or unknown are left out; a flow whose runs cannot be computed
 * is logged, listed in `failures` and skipped, the others go on. Call it inside a transaction to make it part of one.
 */
export async function scheduleFlowRuns(db: Queryable, flowIds: string[], options: ScheduleFlowRunsOptions): Promise<ScheduledFlowRuns> {
  const scheduled = new ScheduledFlowRuns();
  if (flowIds.length === 0) return scheduled;
  const { rows: flows } = await db.query<FlowToSchedule>({ name: "mutations.flows_to_schedule", text: FLOWS_TO_SCHEDULE_SQL, values: [flowIds] });
  scheduled.flows = flows.length;
  const runs: NewFlowRun[] = [];
  for (const flow of flows) {
    try {
      runs.push(...runsOfFlow(flow, options));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      scheduled.failures.push({ flow_id: flow.id, message });
      options.log?.warn({ flow_id: flow.id, err: error }, `flow ${flow.id} was not scheduled: ${message}`);
    }
  }
  const insert = () => insertFlowRuns(db, runs);
  for (const row of await (options.insertGate ? options.insertGate(insert) : insert())) {
    const ids = scheduled.get(row.flow_id) ?? [];
    ids.push(row.id);
    scheduled.set(row.flow_id, ids);
    if (row.inserted) scheduled.created += 1;
  }
  return scheduled;
}

/** Deletes the auto-scheduled runs still Scheduled of the given flows (their schedule was switched off or changed). */
async function deleteAutoScheduledRuns(db: Queryable, flowIds: string[]): Promise<void> {
  await db.query("DELETE FROM flow_run WHERE flow_id = ANY($1::uuid[]) AND state = 'Scheduled' AND auto_scheduled", [flowIds]);
}

/** Required parameter names of a flow that neither its group's defaults nor every clock of its schedule provide. */
function unscheduledRequiredParameters(parameters: unknown, groupDefaults: Json | null, schedule: unknown): string[] {
  const required = (Array.isArray(parameters) ? parameters : [])
    .filter((parameter): parameter is Json => isObject(parameter) && parameter.required === true && typeof parameter.name === "string")
    .map((parameter) => parameter.name as string)
    .filter((name) => !(isObject(groupDefaults) && name in groupDefaults));
  const clocks = isObject(schedule) && Array.isArray(schedule.clocks) ? schedule.clocks : [];
  return required.filter((name) => clocks.length === 0 || clocks.some((clock) => !(isObject(clock) && isObject(clock.parameter_defaults) && name in clock.parameter_defaults)));
}

/**
 * Switches a flow's schedule on and schedules its next runs, on `client` (inside the caller's transaction). False
 * for an unknown flow, or one without a schedule of its own or of its group (the flag is then left alone). A flow
 * with its own schedule must have every required parameter covered by its group's defaults or by every clock.
 */
export async function activateSchedule(client: Queryable, flowId: string, options: ScheduleFlowRunsOptions): Promise<boolean> {
  const { rows } = await client.query<{ schedule: unknown; parameters: unknown; group_schedule: unknown; default_parameters: Json | null }>(
    `SELECT f.schedule, f.parameters, fg.schedule AS group_schedule, fg.default_parameters
     FROM flow f JOIN flow_group fg ON fg.id = f.flow_group_id WHERE f.id = $1 FOR UPDATE OF f`,
    [flowId],
  );
  const flow = rows[0];
  if (!flow) return false;
  if (flow.schedule != null && unscheduledRequiredParameters(flow.parameters, flow.default_parameters, flow.schedule).length > 0) {
    throw new ApiError(REQUIRED_PARAMETERS);
  }
  if (flow.schedule == null && flow.group_schedule == null) return false;
  await client.query("UPDATE flow SET is_schedule_active = true WHERE id = $1", [flowId]);
  await scheduleFlowRuns(client, [flowId], options);
  return true;
}

/** set_schedule_active, in one transaction. */
export async function setScheduleActive(db: Pool, flowId: string | null | undefined, options: ScheduleFlowRunsOptions): Promise<boolean> {
  if (!flowId) throw new ApiError("Invalid flow id.");
  return withTransaction(db, (client) => activateSchedule(client, flowId, options));
}

/**
 * The schedule activation create_flow asks for: like set_schedule_active, but a failure (required parameters …)
 * only leaves the new flow inactive and is logged; the registration itself goes on (v1). A savepoint keeps the
 * caller's transaction usable.
 */
export async function activateScheduleOfNewFlow(client: PoolClient, flowId: string, options: ScheduleFlowRunsOptions): Promise<void> {
  await client.query("SAVEPOINT activate_schedule");
  try {
    await activateSchedule(client, flowId, options);
    await client.query("RELEASE SAVEPOINT activate_schedule");
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT activate_schedule");
    options.log?.warn({ flow_id: flowId, err: error }, `the schedule of flow ${flowId} was not activated: ${(error as Error).message}`);
  }
}

/** set_schedule_inactive: clears the flag and deletes the flow's auto-scheduled runs that are still Scheduled. */
export async function setScheduleInactive(db: Pool, flowId: string | null | undefined): Promise<boolean> {
  if (!flowId) throw new ApiError("Invalid flow id.");
  return withTransaction(db, async (client) => {
    const { rowCount } = await client.query("UPDATE flow SET is_schedule_active = false WHERE id = $1", [flowId]);
    if (rowCount === 0) return false;
    await deleteAutoScheduledRuns(client, [flowId]);
    return true;
  });
}

/** Unarchives a flow (API only, no mutation); a flow whose schedule is active gets its runs scheduled again. */
export async function unarchiveFlow(db: Pool, flowId: string, options: ScheduleFlowRunsOptions): Promise<boolean> {
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<{ is_schedule_active: boolean }>("UPDATE flow SET archived = false WHERE id = $1 RETURNING is_schedule_active", [flowId]);
    if (rows.length === 0) return false;
    if (rows[0]!.is_schedule_active) await activateSchedule(client, flowId, options);
    return true;
  });
}

export interface FlowGroupScheduleInput {
  flow_group_id: string | null | undefined;
  cron_clocks?: { cron: string; parameter_defaults?: unknown }[] | null;
  interval_clocks?: { interval: number; parameter_defaults?: unknown }[] | null;
  timezone?: string | null;
}

const truthy = (value: unknown): boolean => value != null && value !== false && value !== 0 && value !== "" && !(isObject(value) && Object.keys(value).length === 0);

/**
 * The schedule set_flow_group_schedule stores: cron clocks `{type, cron, start_date[, parameter_defaults]}`,
 * interval clocks `{type, interval (µs), start_date[, parameter_defaults if non-empty]}`; start_date is null, or with
 * a time zone the current wall time there (`{dt, tz}`). Every clock must be one Core would load.
 */
export function flowGroupSchedule(input: FlowGroupScheduleInput, now: Instant = nowInstant()): Json {
  let startDate: Json | null = null;
  if (input.timezone) {
    const zone = findZone(input.timezone);
    if (!zone) throw new ApiError(`Invalid timezone provided for schedule: ${input.timezone}`);
    startDate = { dt: formatWall(toWall(now, zone)), tz: input.timezone };
  }
  const clocks: Json[] = [
    ...(input.cron_clocks ?? []).map((clock) => ({
      type: "CronClock",
      cron: clock.cron,
      start_date: startDate,
      ...(clock.parameter_defaults != null ? { parameter_defaults: clock.parameter_defaults } : {}),
    })),
    ...(input.interval_clocks ?? []).map((clock) => ({
      type: "IntervalClock",
      interval: clock.interval * 1_000_000,
      start_date: startDate,
      ...(truthy(clock.parameter_defaults) ? { parameter_defaults: clock.parameter_defaults } : {}),
    })),
  ];
  for (const clock of clocks) {
    try {
      parseClock(clock);
    } catch {
      throw new ApiError(`Invalid clock provided for schedule: ${pythonRepr(clock)}`);
    }
  }
  return { type: "Schedule", clocks };
}

/**
 * Replaces a flow group's schedule (null deletes it) and re-plans its flows: their auto-scheduled Scheduled runs
 * are deleted and the active ones are scheduled again at once (v1 waited for the scheduler's next pass). False for
 * an unknown group.
 */
async function replaceFlowGroupSchedule(db: Pool, flowGroupId: string, schedule: Json | null, options: ScheduleFlowRunsOptions): Promise<boolean> {
  return withTransaction(db, async (client) => {
    const { rowCount } = await client.query("UPDATE flow_group SET schedule = $2 WHERE id = $1", [flowGroupId, schedule === null ? null : JSON.stringify(schedule)]);
    if (rowCount === 0) return false;
    const { rows } = await client.query<{ id: string }>("SELECT id FROM flow WHERE flow_group_id = $1 ORDER BY id", [flowGroupId]);
    const flowIds = rows.map((row) => row.id);
    await deleteAutoScheduledRuns(client, flowIds);
    await scheduleFlowRuns(client, flowIds, options);
    return true;
  });
}

/** set_flow_group_schedule. */
export async function setFlowGroupSchedule(db: Pool, input: FlowGroupScheduleInput, options: ScheduleFlowRunsOptions): Promise<boolean> {
  if (!input.flow_group_id) throw new ApiError("Invalid flow group ID");
  return replaceFlowGroupSchedule(db, input.flow_group_id, flowGroupSchedule(input, options.now), options);
}

/** delete_flow_group_schedule: the group's flows fall back to their own schedules. */
export async function deleteFlowGroupSchedule(db: Pool, flowGroupId: string | null | undefined, options: ScheduleFlowRunsOptions): Promise<boolean> {
  if (!flowGroupId) throw new ApiError("Invalid flow group ID");
  return replaceFlowGroupSchedule(db, flowGroupId, null, options);
}
