// Core 1.x schedules (docs/v1-compatibility.md, Schedules): reading the serialized `Schedule` (Core's
// ScheduleSchema/ClockSchema), its `next(n)`, and the idempotency keys the server gives auto-scheduled runs.
//
// next(n): the clocks' events merged in time order; events at the same instant with equal parameter_defaults and
// labels are one event (labels null ≠ []); each must pass the filters (all `filters`, at least one `or_filters` if
// any, none of the `not_filters`), checked on its local date-time in its clock's zone; then the adjustments apply in
// order. At most 10,000 candidate events are looked at (Core's cap), so prohibitive filters end the search.
import { createHash } from "node:crypto";
import { addDuration, clockEvents, isValidCron, type Clock, type ClockEvent, type ZonedInstant } from "./clocks.ts";
import { findZone, fromWall, isoUtc, MICROS_PER_DAY, MICROS_PER_SECOND, now, parseIso, toWall, wallFields, type Instant } from "./time.ts";
import { isObject, type Json } from "../inputs.ts";
import { pythonJsonDumps, pythonSortedCharacters } from "../python.ts";

/** A serialized schedule or clock that Core would not load. The message says what is wrong. */
export class ScheduleError extends Error {
  override name = "ScheduleError";
}

type Filter = (event: ClockEvent) => boolean;
type Adjustment = (event: ClockEvent) => Instant;

export interface Schedule {
  clocks: Clock[];
  filters: Filter[];
  or_filters: Filter[];
  not_filters: Filter[];
  adjustments: Adjustment[];
}

/** An event of a schedule: a run to create. */
export interface ScheduleEvent {
  start: Instant;
  parameter_defaults: Json;
  labels: string[] | null;
}


// ---- reading ----------------------------------------------------------------------------------------------------

/** Core's DateTimeTZ field: `{dt: <naive ISO>, tz: <zone name>}` (a plain ISO string is accepted too). */
function zonedInstant(value: unknown, field: string): ZonedInstant {
  if (typeof value === "string") {
    const instant = parseIso(value);
    if (instant !== null) return { instant, zone: findZone("UTC")! };
  } else if (isObject(value) && typeof value.dt === "string") {
    const zone = findZone(typeof value.tz === "string" ? value.tz : "UTC");
    if (!zone) throw new ScheduleError(`${field}: unknown time zone ${JSON.stringify(value.tz)}`);
    const instant = parseIso(value.dt, zone);
    if (instant !== null) return { instant, zone };
  }
  throw new ScheduleError(`${field}: expected {"dt": <ISO date-time>, "tz": <time zone>}, got ${JSON.stringify(value)}`);
}

const optionalZoned = (value: unknown, field: string): ZonedInstant | null => (value == null ? null : zonedInstant(value, field));

function parameterDefaults(value: unknown): Json {
  if (value == null) return {};
  if (!isObject(value)) throw new ScheduleError(`parameter_defaults: expected an object, got ${JSON.stringify(value)}`);
  return value;
}

function labels(value: unknown): string[] | null {
  if (value == null) return null;
  if (!Array.isArray(value) || value.some((label) => typeof label !== "string")) {
    throw new ScheduleError(`labels: expected a list of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/** Reads one serialized clock (Core's ClockSchema). Throws ScheduleError when Core would refuse it. */
export function parseClock(value: unknown): Clock {
  if (!isObject(value)) throw new ScheduleError(`a clock must be an object, got ${JSON.stringify(value)}`);
  const common = { parameter_defaults: parameterDefaults(value.parameter_defaults), labels: labels(value.labels) };
  switch (value.type) {
    case "IntervalClock": {
      const interval = value.interval;
      if (typeof interval !== "number" || !Number.isFinite(interval)) {
        throw new ScheduleError(`interval: expected microseconds, got ${JSON.stringify(interval)}`);
      }
      if (interval < 60 * MICROS_PER_SECOND) throw new ScheduleError("Interval can not be less than one minute when deploying to Prefect Cloud.");
      return {
        type: "IntervalClock",
        interval: Math.trunc(interval),
        start_date: optionalZoned(value.start_date, "start_date"),
        end_date: optionalZoned(value.end_date, "end_date"),
        ...common,
      };
    }
    case "CronClock": {
      if (!isValidCron(value.cron)) throw new ScheduleError(`Invalid cron string: ${String(value.cron)}`);
      if (value.day_or != null && typeof value.day_or !== "boolean") throw new ScheduleError(`day_or: expected a boolean, got ${JSON.stringify(value.day_or)}`);
      return {
        type: "CronClock",
        cron: value.cron,
        day_or: value.day_or !== false,
        start_date: optionalZoned(value.start_date, "start_date"),
        end_date: optionalZoned(value.end_date, "end_date"),
        ...common,
      };
    }
    case "DatesClock": {
      if (!Array.isArray(value.dates) || value.dates.length === 0) throw new ScheduleError("dates: expected a non-empty list of dates");
      return { type: "DatesClock", dates: value.dates.map((date, index) => zonedInstant(date, `dates[${index}]`)), ...common };
    }
    default:
      throw new ScheduleError(`unsupported clock type ${JSON.stringify(value.type ?? null)}`);
  }
}

// Filters and adjustments are serialized as Core's StatefulFunctionReference: `{"fn": <qualified name>, "kwargs":
// {...}}` where datetimes, times and timedeltas are strings prefixed `//datetime:`, `//time:`, `//timedelta:`.
const FILTERS = "prefect.schedules.filters.";
const ADJUSTMENTS = "prefect.schedules.adjustments.";

type LocalTime = [number, number, number, number];

function kwargDatetime(value: unknown, name: string): Instant {
  const text = typeof value === "string" ? value.replace(/^\/\/datetime:/, "") : "";
  const instant = parseIso(text);
  if (instant === null) throw new ScheduleError(`${name}: expected a datetime, got ${JSON.stringify(value)}`);
  return instant;
}

function kwargTime(value: unknown, name: string): LocalTime {
  const text = typeof value === "string" ? value.replace(/^\/\/time:/, "") : "";
  const match = /^(\d{1,2})(?::(\d{2}))?(?::(\d{2})(?:\.(\d{1,6}))?)?$/.exec(text);
  if (!match) throw new ScheduleError(`${name}: expected a time, got ${JSON.stringify(value)}`);
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0), Number((match[4] ?? "").padEnd(6, "0"))];
}

function kwargInt(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) throw new ScheduleError(`${name}: expected an integer, got ${JSON.stringify(value)}`);
  return value;
}

function kwargTimedelta(value: unknown, name: string): number {
  const seconds = typeof value === "string" ? Number(value.replace(/^\/\/timedelta:/, "")) : value;
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) throw new ScheduleError(`${name}: expected a timedelta, got ${JSON.stringify(value)}`);
  return Math.round(seconds * MICROS_PER_SECOND);
}

const compareTuples = (a: readonly number[], b: readonly number[]): number => {
  for (let index = 0; index < a.length; index += 1) if (a[index] !== b[index]) return a[index]! - b[index]!;
  return 0;
};

const local = (event: ClockEvent) => wallFields(toWall(event.start, event.zone));
const localTime = (event: ClockEvent): LocalTime => {
  const fields = local(event);
  return [fields.hour, fields.minute, fields.second, fields.micro];
};

function functionReference(value: unknown, prefix: string): { fn: string; kwargs: Json } {
  if (typeof value === "string") return { fn: value, kwargs: {} };
  if (isObject(value) && typeof value.fn === "string") return { fn: value.fn, kwargs: isObject(value.kwargs) ? value.kwargs : {} };
  throw new ScheduleError(`expected a ${prefix}* function reference, got ${JSON.stringify(value)}`);
}

function parseFilter(value: unknown): Filter {
  const { fn, kwargs } = functionReference(value, FILTERS);
  switch (fn.startsWith(FILTERS) ? fn.slice(FILTERS.length) : fn) {
    case "on_datetime": {
      const at = kwargDatetime(kwargs.dt, "dt");
      return (event) => event.start === at;
    }
    case "between_datetimes": {
      const [start, end] = [kwargDatetime(kwargs.start, "start"), kwargDatetime(kwargs.end, "end")];
      return (event) => event.start >= start && event.start <= end;
    }
    case "on_date": {
      const [month, day] = [kwargInt(kwargs.month, "month"), kwargInt(kwargs.day, "day")];
      return (event) => local(event).month === month && local(event).day === day;
    }
    case "between_dates": {
      const start = [kwargInt(kwargs.start_month, "start_month"), kwargInt(kwargs.start_day, "start_day")];
      const end = [kwargInt(kwargs.end_month, "end_month"), kwargInt(kwargs.end_day, "end_day")];
      return (event) => {
        const { month, day } = local(event);
        const after = compareTuples([month, day], start) >= 0;
        const before = compareTuples([month, day], end) <= 0;
        return start[0]! <= end[0]! ? after && before : after || before;
      };
    }
    case "at_time": {
      const at = kwargTime(kwargs.t, "t");
      return (event) => compareTuples(localTime(event), at) === 0;
    }
    case "between_times": {
      const [start, end] = [kwargTime(kwargs.start, "start"), kwargTime(kwargs.end, "end")];
      return (event) => {
        const time = localTime(event);
        const after = compareTuples(time, start) >= 0;
        const before = compareTuples(time, end) <= 0;
        return compareTuples(start, end) <= 0 ? after && before : after || before;
      };
    }
    case "is_weekday":
      return (event) => local(event).weekday < 5;
    case "is_weekend":
      return (event) => local(event).weekday > 4;
    case "is_month_end":
      return (event) => wallFields(toWall(event.start, event.zone) + MICROS_PER_DAY).day === 1;
    case "is_month_start":
      return (event) => local(event).day === 1;
    case "is_day_of_week": {
      // pendulum 2's day_of_week, which Core compares with: Monday 0 … Sunday 6 (Core's docstring says Sunday 0).
      const wanted = kwargs.day_of_week == null ? null : kwargInt(kwargs.day_of_week, "day_of_week");
      return (event) => local(event).weekday === wanted;
    }
    default:
      throw new ScheduleError(`Invalid function reference: ${fn}`);
  }
}

function parseAdjustment(value: unknown): Adjustment {
  const { fn, kwargs } = functionReference(value, ADJUSTMENTS);
  switch (fn.startsWith(ADJUSTMENTS) ? fn.slice(ADJUSTMENTS.length) : fn) {
    case "add": {
      const interval = kwargTimedelta(kwargs.interval, "interval");
      return (event) => addDuration(event.start, event.zone, interval);
    }
    case "next_weekday":
      return (event) => {
        let wall = toWall(event.start, event.zone);
        while (wallFields(wall).weekday >= 5) wall += MICROS_PER_DAY;
        return wall === toWall(event.start, event.zone) ? event.start : fromWall(wall, event.zone);
      };
    default:
      throw new ScheduleError(`Invalid function reference: ${fn}`);
  }
}

function functionList<T>(value: unknown, name: string, parse: (item: unknown) => T): T[] {
  if (value == null) return [];
  if (!Array.isArray(value)) throw new ScheduleError(`${name}: expected a list, got ${JSON.stringify(value)}`);
  return value.filter((item) => item != null).map(parse);
}

/** Reads a serialized Core schedule (`{type: "Schedule", clocks, filters, or_filters, not_filters, adjustments}`). */
export function parseSchedule(value: unknown): Schedule {
  if (!isObject(value)) throw new ScheduleError(`a schedule must be an object, got ${JSON.stringify(value)}`);
  if (value.type != null && value.type !== "Schedule") throw new ScheduleError(`unsupported schedule type ${JSON.stringify(value.type)}`);
  if (!Array.isArray(value.clocks)) throw new ScheduleError("clocks: a schedule needs a list of clocks");
  return {
    clocks: value.clocks.map(parseClock),
    filters: functionList(value.filters, "filters", parseFilter),
    or_filters: functionList(value.or_filters, "or_filters", parseFilter),
    not_filters: functionList(value.not_filters, "not_filters", parseFilter),
    adjustments: functionList(value.adjustments, "adjustments", parseAdjustment),
  };
}

// ---- next(n) ----------------------------------------------------------------------------------------------------

/** JSON with object keys sorted: equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isObject(value)) {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

const identity = (event: { parameter_defaults: Json; labels: string[] | null }): string =>
  `${canonical(event.parameter_defaults)}|${canonical(event.labels)}`;

function passes(schedule: Schedule, event: ClockEvent): boolean {
  return (
    schedule.filters.every((filter) => filter(event)) &&
    (schedule.or_filters.length === 0 || schedule.or_filters.some((filter) => filter(event))) &&
    !schedule.not_filters.some((filter) => filter(event))
  );
}

function adjusted(schedule: Schedule, event: ClockEvent): Instant {
  let start = event.start;
  for (const adjust of schedule.adjustments) start = adjust({ ...event, start });
  return start;
}

/** Core's cap on the candidate events one `next` call looks at. */
const MAX_CANDIDATES = 10_000;

/** The next `n` events of the schedule strictly after `after` (default now). */
export function nextEvents(schedule: Schedule, n: number, after: Instant = now()): ScheduleEvent[] {
  const streams = schedule.clocks.map((clock) => clockEvents(clock, after));
  const heads = streams.map((stream) => stream.next());
  const events: ScheduleEvent[] = [];
  let groupStart: Instant | null = null;
  const group = new Set<string>();
  let candidates = 0;
  while (events.length < n && candidates < MAX_CANDIDATES) {
    let pick = -1;
    heads.forEach((head, index) => {
      if (!head.done && (pick < 0 || head.value.start < (heads[pick]!.value as ClockEvent).start)) pick = index;
    });
    if (pick < 0) break;
    const event = heads[pick]!.value as ClockEvent;
    heads[pick] = streams[pick]!.next();
    if (event.start !== groupStart) {
      groupStart = event.start;
      group.clear();
    }
    const key = identity(event);
    if (group.has(key)) continue;
    group.add(key);
    candidates += 1;
    if (!passes(schedule, event)) continue;
    const start = adjusted(schedule, event);
    const previous = events[events.length - 1];
    if (previous && previous.start === start && identity(previous) === key) continue;
    events.push({ start, parameter_defaults: event.parameter_defaults, labels: event.labels });
  }
  return events;
}

// ---- idempotency keys -------------------------------------------------------------------------------------------

/**
 * The idempotency key of an auto-scheduled run, as v1 makes it: `auto-scheduled:<start in UTC, Python ISO>`, and
 * for an event with parameter defaults or labels (even []) `:<md5>` of the sorted characters of the JSON of both.
 */
export function idempotencyKey(event: ScheduleEvent): string {
  const base = `auto-scheduled:${isoUtc(event.start)}`;
  if (!hasParametersOrLabels(event)) return base;
  const text = pythonSortedCharacters(pythonJsonDumps(event.parameter_defaults)) + pythonSortedCharacters(pythonJsonDumps(event.labels));
  return `${base}:${createHash("md5").update(text, "utf8").digest("hex")}`;
}

/** Events with parameter defaults or labels are not skipped by start time; the key alone makes them idempotent. */
export const hasParametersOrLabels = (event: ScheduleEvent): boolean => Object.keys(event.parameter_defaults).length > 0 || event.labels !== null;
