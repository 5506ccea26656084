// Core 1.x clocks: the event streams a schedule merges (docs/v1-compatibility.md, Schedules). Each clock yields events
// strictly after an instant, in time order, with its parameter_defaults and labels.
//
// - IntervalClock: start_date + k × interval (start_date defaults to 2019-01-01T00:00:00 UTC). While k × interval is
//   less than a day the sum is exact elapsed time; from a whole day on it is wall-clock arithmetic in the start
//   date's zone (the local date-time moves by that much and is read again in the zone). So a daily clock keeps its
//   local hour across DST changes, and an hourly clock is exact only within its first day (pendulum's `add`).
// - CronClock: the cron expression is matched against wall-clock times in the start date's zone (UTC without one);
//   each match becomes an instant by the rules of time.ts (an hour repeated by DST fires once, after the change; a
//   skipped one fires at the first instant after the gap), and an instant already emitted is not emitted again, as
//   croniter (with pytz) and Core do. 6-field expressions are croniter's: seconds are the LAST field. Day-of-month
//   and month 0 mean 1 (croniter). `day_or: false` joins day-of-month and day-of-week with AND.
// - DatesClock: its dates, sorted.
import { CronExpressionParser, type CronExpression } from "cron-parser";
import type { Zone } from "luxon";
import { fromWall, MICROS_PER_DAY, MICROS_PER_SECOND, toWall, zone as zoneNamed, type Instant } from "./time.ts";
import type { Json } from "../inputs.ts";


/** A date-time with the zone it was given in (Core's `{dt, tz}`). */
export interface ZonedInstant {
  instant: Instant;
  zone: Zone;
}

interface ClockCommon {
  parameter_defaults: Json;
  /** null ("not set") and [] are different labels. */
  labels: string[] | null;
}

export interface IntervalClock extends ClockCommon {
  type: "IntervalClock";
  /** Microseconds. */
  interval: number;
  start_date: ZonedInstant | null;
  end_date: ZonedInstant | null;
}

export interface CronClock extends ClockCommon {
  type: "CronClock";
  cron: string;
  day_or: boolean;
  start_date: ZonedInstant | null;
  end_date: ZonedInstant | null;
}

export interface DatesClock extends ClockCommon {
  type: "DatesClock";
  dates: ZonedInstant[];
}

export type Clock = IntervalClock | CronClock | DatesClock;

/** One event of a clock: when, in which zone (filters read local fields in it), with what parameters and labels. */
export interface ClockEvent {
  start: Instant;
  zone: Zone;
  parameter_defaults: Json;
  labels: string[] | null;
}

const UTC = (): Zone => zoneNamed("UTC");
/** Core's anchor of an interval clock without a start date. */
const DEFAULT_INTERVAL_START = Date.UTC(2019, 0, 1) * 1000;

/**
 * `instant` moved by `micros`, pendulum-style: exact elapsed time when the whole days of the duration are 0, else
 * wall-clock arithmetic in `zone` (Python's timedelta keeps days apart; a negative duration has negative days).
 */
export function addDuration(instant: Instant, zone: Zone, micros: number): Instant {
  if (Math.floor(micros / MICROS_PER_DAY) === 0) return instant + micros;
  return fromWall(toWall(instant, zone) + micros, zone);
}

function* intervalEvents(clock: IntervalClock, after: Instant): Generator<ClockEvent> {
  const start = clock.start_date?.instant ?? DEFAULT_INTERVAL_START;
  const zone = clock.start_date?.zone ?? UTC();
  const elapsed = after - start;
  // The first multiple of the interval strictly after `after` (0 when `after` is before the start).
  let k = elapsed < 0 ? 0 : Math.floor(elapsed / clock.interval) + 1;
  for (;;) {
    const next = addDuration(start, zone, k * clock.interval);
    k += 1;
    if (next < after) continue; // wall-clock arithmetic across a DST change can land just before `after`
    if (clock.end_date && next > clock.end_date.instant) return;
    yield { start: next, zone, parameter_defaults: clock.parameter_defaults, labels: clock.labels };
  }
}

const MONTH_OR_DAY_ZERO = /(^|,)0(?=,|$)/g;

/**
 * A Core (croniter) cron string as cron-parser reads it: 5 fields as they are; 6 fields with the seconds moved from
 * the end to the front; a day-of-month or month of 0 read as 1. Null when it does not have 5 or 6 fields.
 */
export function cronParserExpression(cron: string): string | null {
  const fields = cron.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return null;
  const [minute, hour, dayOfMonth, month, dayOfWeek, second] = fields as [string, string, string, string, string, string?];
  const rest = [minute, hour, dayOfMonth.replace(MONTH_OR_DAY_ZERO, "$11"), month.replace(MONTH_OR_DAY_ZERO, "$11"), dayOfWeek];
  return (second === undefined ? rest : [second, ...rest]).join(" ");
}

/** Whether Core would accept this cron string. */
export function isValidCron(cron: unknown): cron is string {
  if (typeof cron !== "string") return false;
  const expression = cronParserExpression(cron);
  if (expression === null) return false;
  try {
    CronExpressionParser.parse(expression, { tz: "UTC" });
    return true;
  } catch {
    return false;
  }
}

interface CronPlan {
  expression: string;
  /** With `day_or: false` and both day fields restricted: the days of week (0 = Sunday) a match must also be on. */
  alsoDaysOfWeek: Set<number> | null;
}

function cronPlan(clock: CronClock): CronPlan {
  const expression = cronParserExpression(clock.cron);
  if (expression === null) throw new RangeError(`invalid cron string ${JSON.stringify(clock.cron)}`);
  const parsed = CronExpressionParser.parse(expression, { tz: "UTC" });
  const { dayOfMonth, dayOfWeek } = parsed.fields;
  if (clock.day_or || dayOfMonth.isWildcard || dayOfWeek.isWildcard) return { expression, alsoDaysOfWeek: null };
  // cron-parser joins the two day fields with OR; for AND, match on the day of month and check the day of week.
  const parts = expression.split(" ");
  parts[parts.length - 1] = "*";
  const days = new Set(dayOfWeek.values.map((value) => (typeof value === "number" ? value % 7 : -1)));
  return { expression: parts.join(" "), alsoDaysOfWeek: days };
}

function* cronEvents(clock: CronClock, after: Instant): Generator<ClockEvent> {
  const zone = clock.start_date?.zone ?? UTC();
  // With a start date, start one second before it so that the start date itself can be an event.
  const from = clock.start_date ? Math.max(after, clock.start_date.instant - MICROS_PER_SECOND) : after;
  let wall = toWall(from, zone);
  if (wall % MICROS_PER_SECOND !== 0) wall += MICROS_PER_SECOND; // a fraction of a second rounds up (Core)
  const plan = cronPlan(clock);
  let iterator: CronExpression;
  try {
    iterator = CronExpressionParser.parse(plan.expression, {
      tz: "UTC",
      currentDate: new Date(Math.floor(wall / MICROS_PER_SECOND) * 1000),
    });
  } catch {
    return;
  }
  const emitted = new Set<Instant>();
  for (let misses = 0; misses < 10_000; ) {
    let matchWall: number;
    try {
      const next = iterator.next().toDate();
      matchWall = next.getTime() * 1000;
      if (plan.alsoDaysOfWeek && !plan.alsoDaysOfWeek.has(next.getUTCDay())) {
        misses += 1;
        continue;
      }
    } catch {
      return; // no further match (cron-parser's loop limit)
    }
    const instant = fromWall(matchWall, zone);
    if (instant <= from || emitted.has(instant)) {
      misses += 1;
      continue;
    }
    if (clock.end_date && instant > clock.end_date.instant) return;
    emitted.add(instant);
    misses = 0;
    yield { start: instant, zone, parameter_defaults: clock.parameter_defaults, labels: clock.labels };
  }
}

function* datesEvents(clock: DatesClock, after: Instant): Generator<ClockEvent> {
  for (const date of [...clock.dates].sort((a, b) => a.instant - b.instant)) {
    if (date.instant > after) yield { start: date.instant, zone: date.zone, parameter_defaults: clock.parameter_defaults, labels: clock.labels };
  }
}

/** The events of a clock strictly after `after`, in time order. Interval and cron clocks never end on their own. */
export function clockEvents(clock: Clock, after: Instant): Generator<ClockEvent> {
  switch (clock.type) {
    case "IntervalClock":
      return intervalEvents(clock, after);
    case "CronClock":
      return cronEvents(clock, after);
    case "DatesClock":
      return datesEvents(clock, after);
  }
}
