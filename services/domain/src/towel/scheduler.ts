// Scheduler (docs/v1-compatibility.md, The towel): keeps the next N events (services.towel.max_scheduled_runs_per_flow,
// default 10) of every active, unarchived flow's schedule as auto-scheduled flow runs.
//
// One scheduling path for the API and the towel: a pass pages through the schedulable flows (keyset paging on id,
// newest first, 500 a page, so flows activated or archived meanwhile never shift a page) and hands each page to the
// domain's scheduleFlowRuns (scheduling.ts), which reads the schedules with the shared Core 1.x schedules module (µs
// start dates and v1's idempotency keys included) and creates all the page's runs with their Scheduled states in
// ONE INSERT … ON CONFLICT (idempotency_key, flow_id) — the statement create_flow_run uses. The idempotency key
// makes a run appear once, whichever replica or API call gets there first. Two pages are inserted at a time by
// default: a page's INSERT (5,000 runs with their task runs and states) keeps one Postgres backend busy for most of
// a second, so a second page in flight uses a second core; pages hold different flows, so they never conflict. A
// third page is read and computed meanwhile, ready for the next free insert.
//
// A flow whose runs cannot be computed (unreadable schedule, a required parameter without value) is reported and
// skipped by scheduleFlowRuns; should the page's insert itself fail, the page is retried flow by flow, so one flow
// never keeps the others from being scheduled.
import pLimit from "p-limit";
import type { Pool } from "../../../shared/src/database/pool.ts";
import type { Logger } from "../../../shared/src/logger.ts";
import type { Instant } from "../schedules/index.ts";
import { scheduleFlowRuns, type ScheduleFailure } from "../scheduling.ts";

export interface SchedulerOptions {
  /** services.towel.max_scheduled_runs_per_flow (v1: 10). */
  maxRunsPerFlow: number;
  /** Flows read per page (v1: 500). */
  pageSize?: number;
  /** Pages inserted at the same time, each on its own connection (default SCHEDULER_CONCURRENCY). */
  concurrency?: number;
  /** "Now" for this pass, µs since the epoch (tests); default the current time. */
  now?: Instant;
  /** Where flows that cannot be scheduled are reported. */
  log?: Logger;
}

export interface SchedulerResult {
  /** Schedulable flows looked at (active, unarchived, with a schedule of their own or of their group). */
  flows: number;
  /** Flow runs created by this pass. */
  runsCreated: number;
  /** Flows whose runs could not be computed or written. */
  failures: ScheduleFailure[];
}

export const SCHEDULER_PAGE_SIZE = 500;
export const SCHEDULER_CONCURRENCY = 2;

// $1 last id of the previous page (null for the first), $2 page size.
const SCHEDULABLE_FLOWS_SQL = `
SELECT f.id
FROM flow f
JOIN flow_group fg ON fg.id = f.flow_group_id
WHERE f.is_schedule_active AND NOT f.archived AND (f.schedule IS NOT NULL OR fg.schedule IS NOT NULL)
  AND ($1::uuid IS NULL OR f.id < $1::uuid)
ORDER BY f.id DESC
LIMIT $2`;

/** One Scheduler pass over every schedulable flow. */
export async function runScheduler(db: Pool, options: SchedulerOptions): Promise<SchedulerResult> {
  const pageSize = options.pageSize ?? SCHEDULER_PAGE_SIZE;
  const concurrency = Math.max(1, options.concurrency ?? SCHEDULER_CONCURRENCY);
  const scheduling = {
    maxRuns: options.maxRunsPerFlow,
    now: options.now,
    log: options.log,
    insertGate: pLimit(concurrency),
  };
  const result: SchedulerResult = { flows: 0, runsCreated: 0, failures: [] };

  // Pages are read one after the other (keyset paging needs the previous page's last id) and inserted up to
  // `concurrency` at a time; one more page is read and computed meanwhile, so that it is ready when an insert
  // finishes (the inserts, not the reads, take the time). A failed read ends the pass (after the pages in flight).
  let after: string | null = null;
  let exhausted = false;
  let reading: Promise<unknown> = Promise.resolve();
  const nextPage = (): Promise<string[]> => {
    const page = reading.then(async () => {
      if (exhausted) return [];
      const { rows } = await db
        .query<{ id: string }>({ name: "towel.scheduler.flows", text: SCHEDULABLE_FLOWS_SQL, values: [after, pageSize] })
        .catch((error: unknown) => {
          exhausted = true;
          throw error;
        });
      const ids = rows.map((row) => row.id);
      if (ids.length < pageSize) exhausted = true;
      if (ids.length > 0) after = ids[ids.length - 1]!;
      result.flows += ids.length;
      return ids;
    });
    reading = page.catch(() => {});
    return page;
  };

  const schedulePage = async (ids: string[]): Promise<void> => {
    try {
      const scheduled = await scheduleFlowRuns(db, ids, scheduling);
      result.runsCreated += scheduled.created;
      result.failures.push(...scheduled.failures);
    } catch (pageError) {
      // The page's one insert failed: find the flow(s) at fault by scheduling the page flow by flow.
      options.log?.warn({ err: pageError }, `Scheduling a page of ${ids.length} flows failed (${(pageError as Error).message}); scheduling them one by one.`);
      for (const id of ids) {
        try {
          const scheduled = await scheduleFlowRuns(db, [id], scheduling);
          result.runsCreated += scheduled.created;
          result.failures.push(...scheduled.failures);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          result.failures.push({ flow_id: id, message });
          options.log?.warn({ flow_id: id, err: error }, `flow ${id} was not scheduled: ${message}`);
        }
      }
    }
  };

  const worker = async (): Promise<void> => {
    for (let ids = await nextPage(); ids.length > 0; ids = await nextPage()) await schedulePage(ids);
  };
  const workers = await Promise.allSettled(Array.from({ length: concurrency + 1 }, worker));
  const failed = workers.find((outcome) => outcome.status === "rejected");
  if (failed) throw failed.reason;
  return result;
}
