// Instants, time zones and wall-clock arithmetic for the schedules module.
//
// Core's datetimes carry microseconds (and the auto-schedule idempotency keys show them), so an instant here is a
// whole number of microseconds since the Unix epoch: a plain number, exact up to year ~2255. A "wall" time is the
// same kind of number read as a local date-time in some zone (the local fields as if they were UTC).
//
// Time zones come from luxon (the ICU database): IANA names, their legacy aliases ("US/Pacific") and fixed offsets
// ("+05:30", as Core writes a pendulum fixed-offset zone). A wall time that a DST change makes ambiguous or skips is
// resolved the way pendulum does by default (its POST_TRANSITION rule): an ambiguous time takes the later instant
// (the offset after the change), a skipped time moves forward by the size of the gap (02:30 → 03:30).
import { FixedOffsetZone, IANAZone, type Zone } from "luxon";

/** Microseconds since 1970-01-01T00:00:00Z. */
export type Instant = number;

export const MICROS_PER_SECOND = 1_000_000;
export const MICROS_PER_DAY = 86_400 * MICROS_PER_SECOND;
const MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND;

const FIXED_OFFSET = /^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$/i;
const zones = new Map<string, Zone | null>();

/** The zone with this name (IANA name, alias, "UTC" or a fixed offset such as "+05:30"), or null if unknown. */
export function findZone(name: string): Zone | null {
  if (zones.has(name)) return zones.get(name)!;
  let zone: Zone | null = null;
  const fixed = FIXED_OFFSET.exec(name.trim());
  if (fixed) {
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3] ?? 0);
    if (minutes < 24 * 60) zone = FixedOffsetZone.instance(fixed[1] === "-" ? -minutes : minutes);
  } else if (/^(?:UTC|Z|GMT)$/i.test(name.trim())) {
    zone = FixedOffsetZone.utcInstance;
  } else if (IANAZone.isValidZone(name)) {
    zone = IANAZone.create(name);
  }
  zones.set(name, zone);
  return zone;
}

export const isValidZoneName = (name: string): boolean => findZone(name) !== null;

/** The zone with this name; throws for an unknown one. */
export function zone(name: string): Zone {
  const found = findZone(name);
  if (!found) throw new RangeError(`unknown time zone ${JSON.stringify(name)}`);
  return found;
}

/** The zone's UTC offset at an instant, in microseconds. */
export const offsetAt = (zone: Zone, instant: Instant): number => zone.offset(Math.floor(instant / 1000)) * MICROS_PER_MINUTE;

/** The local wall time of an instant in a zone. */
export const toWall = (instant: Instant, zone: Zone): number => instant + offsetAt(zone, instant);

/**
 * The instant of a wall time in a zone. Of the offsets in force a day either side, those that reproduce the wall
 * time are the valid readings; the latest valid instant wins (ambiguous → after the change). When none is valid the
 * wall time falls in a gap, and the latest candidate is the wall time pushed forward by the gap.
 */
export function fromWall(wall: number, zone: Zone): Instant {
  const candidates = new Set([offsetAt(zone, wall - MICROS_PER_DAY), offsetAt(zone, wall), offsetAt(zone, wall + MICROS_PER_DAY)]);
  let valid: Instant | null = null;
  let any: Instant | null = null;
  for (const offset of candidates) {
    const instant = wall - offset;
    if (any === null || instant > any) any = instant;
    if (offsetAt(zone, instant) === offset && (valid === null || instant > valid)) valid = instant;
  }
  return valid ?? any!;
}

/** Calendar fields of a wall time (UTC-style reading of the number). */
export interface WallFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  micro: number;
  /** Python's weekday(): Monday 0 … Sunday 6. */
  weekday: number;
}

export function wallFields(wall: number): WallFields {
  const micro = ((wall % MICROS_PER_SECOND) + MICROS_PER_SECOND) % MICROS_PER_SECOND;
  const date = new Date((wall - micro) / 1000);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
    micro,
    weekday: (date.getUTCDay() + 6) % 7,
  };
}

/** A wall time from calendar fields. */
export function wallOf(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, micro = 0): number {
  return Date.UTC(year, month - 1, day, hour, minute, second) * 1000 + micro;
}

const pad = (value: number, width = 2): string => String(value).padStart(width, "0");

/** `YYYY-MM-DDTHH:MM:SS[.ffffff]` of a wall time: Python's isoformat, which leaves out a zero fraction. */
export function formatWall(wall: number, alwaysFraction = false): string {
  const f = wallFields(wall);
  const base = `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
  return f.micro !== 0 || alwaysFraction ? `${base}.${pad(f.micro, 6)}` : base;
}

/** An instant in UTC as Python prints it: `2024-01-01T00:00:00+00:00`, `…00.250000+00:00`. */
export const isoUtc = (instant: Instant): string => `${formatWall(instant)}+00:00`;

/** An instant in UTC with all six fraction digits, for Postgres. */
export const isoUtcMicros = (instant: Instant): string => `${formatWall(instant, true)}+00:00`;

export const fromDate = (date: Date): Instant => date.getTime() * 1000;
export const toDate = (instant: Instant): Date => new Date(Math.floor(instant / 1000));
export const now = (): Instant => Date.now() * 1000;

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses an ISO-8601 date-time (pendulum-style: date only, `T` or space, fraction up to µs, `Z` or an offset).
 * A value without an offset is a wall time in `defaultZone`. Returns null when it is not such a date-time.
 */
export function parseIso(text: string, defaultZone: Zone = FixedOffsetZone.utcInstance): Instant | null {
  const match = ISO.exec(text.trim());
  if (!match) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "", offset] = match;
  const micro = Number(fraction.padEnd(6, "0").slice(0, 6));
  const wall = wallOf(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(s), micro);
  const fields = wallFields(wall);
  if (fields.month !== Number(mo) || fields.day !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  if (!offset) return fromWall(wall, defaultZone);
  const fixed = findZone(offset.toUpperCase() === "Z" ? "UTC" : offset);
  return fixed ? fromWall(wall, fixed) : null;
}
