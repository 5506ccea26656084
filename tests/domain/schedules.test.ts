// The shared schedules module against Prefect Core 1.x's known outputs: Core's own clock tests (DST in
// America/New_York), and fixtures/core-schedule-events.json, recorded by running Core 1.4.1 (pendulum 2.1.2,
// croniter 1.3.8) on each case: Europe/London and US/Eastern DST, 6-field crons, day_or, interval clocks anchored in
// other zones, µs start dates, filters and adjustments, merged clocks with parameters.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  findZone,
  idempotencyKey,
  isoUtc,
  isValidCron,
  nextEvents,
  parseClock,
  parseIso,
  parseSchedule,
  ScheduleError,
  toWall,
  type Instant,
} from "../../services/domain/src/schedules/index.ts";

interface Case {
  clock?: Record<string, unknown>;
  schedule?: Record<string, unknown>;
  after: string;
  n: number;
  core: [string, Record<string, unknown>, string[] | null][];
}

const CASES = JSON.parse(readFileSync(new URL("./fixtures/core-schedule-events.json", import.meta.url), "utf8")) as Case[];

const at = (iso: string, zone = "UTC"): Instant => parseIso(iso, findZone(zone)!)!;
const schedule = (...clocks: Record<string, unknown>[]) => parseSchedule({ type: "Schedule", clocks });
const localHours = (starts: Instant[], zone: string) => starts.map((start) => new Date(toWall(start, findZone(zone)!) / 1000).getUTCHours());
const utcHours = (starts: Instant[]) => localHours(starts, "UTC");
const starts = (clock: Record<string, unknown>, after: Instant, n = 4) => nextEvents(schedule(clock), n, after).map((event) => event.start);
const ny = (dt: string) => ({ dt, tz: "America/New_York" });

describe("Core's recorded outputs", () => {
  test.each(CASES.map((c, index) => [index, c] as const))("case %i", (_, c) => {
    const events = nextEvents(parseSchedule(c.schedule ?? { type: "Schedule", clocks: [c.clock] }), c.n, at(c.after));
    expect(events.map((event) => [isoUtc(event.start), event.parameter_defaults, event.labels])).toEqual(c.core);
  });
});

describe("IntervalClock (Core's clock tests)", () => {
  const hour = 3600e6;
  const day = 24 * hour;

  test("hourly across spring-forward: every UTC hour, 2am local skipped", () => {
    for (const start of [ny("2018-03-10T23:00:00"), { dt: "2018-03-11T04:00:00", tz: "UTC" }]) {
      const events = starts({ type: "IntervalClock", interval: hour, start_date: start }, at("2018-03-10T23:00:00", "America/New_York"));
      expect(localHours(events, "America/New_York")).toEqual([0, 1, 3, 4]);
      expect(utcHours(events)).toEqual([5, 6, 7, 8]);
    }
  });

  test("hourly across fall-back: 1am local twice", () => {
    const events = starts({ type: "IntervalClock", interval: hour, start_date: ny("2018-11-03T23:00:00") }, at("2018-11-03T23:00:00", "America/New_York"));
    expect(localHours(events, "America/New_York")).toEqual([0, 1, 1, 2]);
    expect(utcHours(events)).toEqual([4, 5, 6, 7]);
  });

  test("daily keeps 9am local across both DST changes", () => {
    const forward = starts({ type: "IntervalClock", interval: day, start_date: ny("2018-03-08T09:00:00") }, at("2018-03-08T09:00:00", "America/New_York"));
    expect(localHours(forward, "America/New_York")).toEqual([9, 9, 9, 9]);
    expect(utcHours(forward)).toEqual([14, 14, 13, 13]);
    const backward = starts({ type: "IntervalClock", interval: day, start_date: ny("2018-11-01T09:00:00") }, at("2018-11-01T09:00:00", "America/New_York"));
    expect(utcHours(backward)).toEqual([13, 13, 14, 14]);
  });

  test("after, end date, dates before the start, microseconds", () => {
    const start = { dt: "2018-01-01T00:00:00", tz: "UTC" };
    expect(starts({ type: "IntervalClock", interval: day, start_date: start }, at("2025-01-05T01:00:00"), 3).map(isoUtc)).toEqual([
      "2025-01-06T00:00:00+00:00",
      "2025-01-07T00:00:00+00:00",
      "2025-01-08T00:00:00+00:00",
    ]);
    const ending = { type: "IntervalClock", interval: day, start_date: start, end_date: { dt: "2018-01-02T00:00:00", tz: "UTC" } };
    expect(starts(ending, at("2018-01-01T00:00:00"), 3).map(isoUtc)).toEqual(["2018-01-02T00:00:00+00:00"]);
    expect(starts(ending, at("2018-02-01T00:00:00"), 3)).toEqual([]);
    expect(starts({ type: "IntervalClock", interval: hour, start_date: start }, at("2000-01-01T00:00:00"), 2).map(isoUtc)).toEqual([
      "2018-01-01T00:00:00+00:00",
      "2018-01-01T01:00:00+00:00",
    ]);
    const micro = { type: "IntervalClock", interval: hour, start_date: { dt: "2018-01-01T00:00:00.000001", tz: "UTC" } };
    expect(starts(micro, at("2010-01-01T00:00:00"), 2).map(isoUtc)).toEqual(["2018-01-01T00:00:00.000001+00:00", "2018-01-01T01:00:00.000001+00:00"]);
  });

  test("without a start date the clock is anchored at 2019-01-01 UTC", () => {
    expect(starts({ type: "IntervalClock", interval: 7 * 60e6 }, at("2019-01-01T00:10:00"), 2).map(isoUtc)).toEqual([
      "2019-01-01T00:14:00+00:00",
      "2019-01-01T00:21:00+00:00",
    ]);
  });
});

describe("CronClock (Core's clock tests)", () => {
  test("hourly in New York: spring-forward skips 2am, fall-back fires 1am once, after the change", () => {
    const forward = starts({ type: "CronClock", cron: "0 * * * *", start_date: ny("2018-03-10T23:00:00") }, at("2018-03-10T23:00:00", "America/New_York"));
    expect(localHours(forward, "America/New_York")).toEqual([0, 1, 3, 4]);
    expect(utcHours(forward)).toEqual([5, 6, 7, 8]);
    const backward = starts({ type: "CronClock", cron: "0 * * * *", start_date: ny("2018-11-03T23:00:00") }, at("2018-11-03T23:00:00", "America/New_York"));
    expect(localHours(backward, "America/New_York")).toEqual([0, 1, 2, 3]);
    expect(utcHours(backward)).toEqual([4, 6, 7, 8]);
  });

  test("daily at 9am local across DST; a clock without start date runs in UTC", () => {
    expect(utcHours(starts({ type: "CronClock", cron: "0 9 * * *", start_date: ny("2018-03-08T09:00:00") }, at("2018-03-08T09:00:00", "America/New_York")))).toEqual([
      14, 14, 13, 13,
    ]);
    expect(utcHours(starts({ type: "CronClock", cron: "0 9 * * *", start_date: ny("2018-11-01T09:00:00") }, at("2018-11-01T09:00:00", "America/New_York")))).toEqual([
      13, 13, 14, 14,
    ]);
    expect(utcHours(starts({ type: "CronClock", cron: "0 * * * *" }, at("2018-03-11T00:00:00", "America/New_York")))).toEqual([6, 7, 8, 9]);
    expect(utcHours(starts({ type: "CronClock", cron: "0 * * * *" }, at("2018-11-04T00:00:00", "America/New_York")))).toEqual([5, 6, 7, 8]);
  });

  test("start date: included when it matches, rounded up by a microsecond", () => {
    const now = at("2024-01-01T00:00:00");
    expect(starts({ type: "CronClock", cron: "0 0 * * *", start_date: { dt: "2050-01-01T00:00:00", tz: "UTC" } }, now, 2).map(isoUtc)).toEqual([
      "2050-01-01T00:00:00+00:00",
      "2050-01-02T00:00:00+00:00",
    ]);
    expect(starts({ type: "CronClock", cron: "0 0 * * *", start_date: { dt: "2050-01-01T00:00:00.000001", tz: "UTC" } }, now, 1).map(isoUtc)).toEqual([
      "2050-01-02T00:00:00+00:00",
    ]);
  });

  test("validity: 5 or 6 fields (croniter's seconds last, day 0 read as 1)", () => {
    for (const cron of ["* * * * *", "42 0 0 * * *", "0 9 1-7 * 5", "*/15 * * * mon-fri"]) expect(isValidCron(cron)).toBe(true);
    for (const cron of ["*", "hello world", "* * 32 1 1", "61 * * * *", "* * * * * * *", 1]) expect(isValidCron(cron)).toBe(false);
  });
});

describe("DatesClock", () => {
  test("sorted dates strictly after `after`", () => {
    const clock = { type: "DatesClock", dates: [{ dt: "2030-01-03T00:00:00", tz: "UTC" }, { dt: "2030-01-01T00:00:00", tz: "UTC" }] };
    expect(starts(clock, at("2030-01-01T00:00:00"), 5).map(isoUtc)).toEqual(["2030-01-03T00:00:00+00:00"]);
  });
});

describe("Schedule.next", () => {
  const minute = (dt: string, extra: Record<string, unknown> = {}) => ({
    type: "IntervalClock",
    interval: 60e6,
    start_date: { dt, tz: "UTC" },
    ...extra,
  });

  test("identical events of two clocks count once; labels null and [] are different events", () => {
    const after = at("2024-01-01T00:00:00");
    expect(nextEvents(schedule(minute("2024-01-01T00:00:00"), minute("2024-01-01T00:00:00")), 4, after).map((event) => isoUtc(event.start))).toEqual([
      "2024-01-01T00:01:00+00:00",
      "2024-01-01T00:02:00+00:00",
      "2024-01-01T00:03:00+00:00",
      "2024-01-01T00:04:00+00:00",
    ]);
    const events = nextEvents(schedule(minute("2024-01-01T00:00:00", { labels: null }), minute("2024-01-01T00:00:00", { labels: [] }), minute("2024-01-01T00:00:00")), 6, after);
    // Core drops only neighbouring duplicates (so one of its six is a repeat); every event here is distinct.
    expect(events.map((event) => [isoUtc(event.start).slice(11, 16), event.labels])).toEqual([
      ["00:01", null],
      ["00:01", []],
      ["00:02", null],
      ["00:02", []],
      ["00:03", null],
      ["00:03", []],
    ]);
  });

  test("an adjustment that moves two events onto one keeps one (Core kept the repeat)", () => {
    const weekdays = parseSchedule({
      type: "Schedule",
      clocks: [{ type: "CronClock", cron: "0 12 * * *" }],
      adjustments: [{ fn: "prefect.schedules.adjustments.next_weekday", kwargs: {} }],
    });
    expect(nextEvents(weekdays, 4, at("2024-01-05T00:00:00")).map((event) => isoUtc(event.start).slice(0, 10))).toEqual([
      "2024-01-05",
      "2024-01-08",
      "2024-01-09",
      "2024-01-10",
    ]);
  });

  test("filters that never pass stop after 10,000 candidates", () => {
    const never = parseSchedule({ type: "Schedule", clocks: [minute("2024-01-01T00:00:00")], filters: [{ fn: "prefect.schedules.filters.on_date", kwargs: { month: 2, day: 30 } }] });
    expect(nextEvents(never, 3, at("2024-01-01T00:00:00"))).toEqual([]);
  });
});

describe("reading serialized schedules", () => {
  test("check 39's stored schedule, and what Core refuses", () => {
    const stored = parseSchedule({ type: "Schedule", clocks: [{ type: "IntervalClock", interval: 4_200_000_000, start_date: null }] });
    expect(stored.clocks[0]).toMatchObject({ type: "IntervalClock", interval: 4_200_000_000, start_date: null, labels: null, parameter_defaults: {} });
    expect(() => parseClock({ type: "IntervalClock", interval: 30_000_000 })).toThrow("Interval can not be less than one minute");
    expect(() => parseClock({ type: "CronClock", cron: "not a cron" })).toThrow(ScheduleError);
    expect(() => parseClock({ type: "RRuleClock" })).toThrow("unsupported clock type");
    expect(() => parseClock({ type: "CronClock", cron: "* * * * *", start_date: { dt: "2024-01-01T00:00:00", tz: "Kalamazoo" } })).toThrow("unknown time zone");
    expect(() => parseSchedule({ type: "Schedule", clocks: [], filters: [{ fn: "my.own.filter" }] })).toThrow("Invalid function reference");
  });
});

describe("idempotency keys (v1's format, md5 values computed by v1's formula in Python)", () => {
  const start = at("2024-01-01T00:00:00");
  test("plain events: the UTC start time only, Python's isoformat", () => {
    expect(idempotencyKey({ start, parameter_defaults: {}, labels: null })).toBe("auto-scheduled:2024-01-01T00:00:00+00:00");
    expect(idempotencyKey({ start: start + 250_000, parameter_defaults: {}, labels: null })).toBe("auto-scheduled:2024-01-01T00:00:00.250000+00:00");
  });
  test("events with parameters or labels (even []) get the md5 suffix", () => {
    expect(idempotencyKey({ start, parameter_defaults: { x: 'a"b' }, labels: ["foo", "bar"] })).toBe(
      "auto-scheduled:2024-01-01T00:00:00+00:00:0343915a53dcec6c03f3dd425cd5dcc1",
    );
    expect(idempotencyKey({ start, parameter_defaults: {}, labels: [] })).toBe("auto-scheduled:2024-01-01T00:00:00+00:00:6724220be14f0099e91cefa0b2610748");
    expect(idempotencyKey({ start, parameter_defaults: { x: 1.5, y: [1, null, true], z: "é" }, labels: null })).toBe(
      "auto-scheduled:2024-01-01T00:00:00+00:00:0ac30631bc78b9463d98551fb6df70db",
    );
  });
});
