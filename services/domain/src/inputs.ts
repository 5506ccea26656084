// How v1 read the values clients send: UUIDs in any form Python's uuid.UUID accepts, ISO-8601 date-times as
// pendulum parses them, JSON objects. The GraphQL scalars of the mutations service and the domain's own checks use
// these.

/** A JSON object as clients send it (a serialized flow, a run config, parameters …). */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

const UUID_PATTERN = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;

/** The canonical lowercase form of a UUID written in any of the forms Python's uuid.UUID accepts, or undefined. */
export function normaliseUuid(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const match = UUID_PATTERN.exec(value.trim());
  return match ? match.slice(1).join("-").toLowerCase() : undefined;
}

const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Reads an ISO-8601 date-time (`2020-01-01`, `2020-01-01T10:00`, `2020-01-01 10:00:00.123456+02:00`, `...Z`) and
 * returns it as `YYYY-MM-DDTHH:MM:SS.ffffff±HH:MM`, keeping the offset; text without an offset is UTC.
 * Returns undefined for anything else, including impossible dates.
 */
export function normaliseDateTime(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString().replace("Z", "+00:00");
  if (typeof value !== "string") return undefined;
  const match = DATE_TIME_PATTERN.exec(value.trim());
  if (!match) return undefined;
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", zone] = match;
  const probe = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  if (
    probe.getUTCFullYear() !== Number(year) ||
    probe.getUTCMonth() !== Number(month) - 1 ||
    probe.getUTCDate() !== Number(day) ||
    probe.getUTCHours() !== Number(hour) ||
    probe.getUTCMinutes() !== Number(minute) ||
    probe.getUTCSeconds() !== Number(second)
  ) {
    return undefined;
  }
  let offset = "+00:00";
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = Number(digits.slice(2) || "0");
    if (hours > 23 || minutes > 59) return undefined;
    offset = `${zone[0]}${digits.slice(0, 2)}:${(digits.slice(2) || "00").padEnd(2, "0")}`;
  }
  const micros = fraction.slice(0, 6).padEnd(6, "0");
  return `${year}-${month}-${day}T${hour}:${minute}:${second}.${micros}${offset}`;
}

const NUL = "\u0000";

export type ValuePath = readonly (string | number)[];

/** Where in a request a value sits, for messages: `input.logs[2].message`. */
export const describePath = (path: ValuePath): string =>
  path.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? part : `.${part}`)).join("");

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date);

interface Visit {
  holder: Record<string | number, unknown>;
  key: string | number;
  up: Visit | undefined;
}

const pathOf = (visit: Visit | undefined): (string | number)[] => {
  const path: (string | number)[] = [];
  for (let at = visit; at?.up; at = at.up) path.unshift(at.key);
  return path;
};

/**
 * Removes the NUL characters of `value` (text, or JSON made of objects, lists and texts) in place where
 * `strippable(path)` allows it, and returns the path of the first one it may not remove (undefined when none is
 * left). Postgres stores NUL in no text and no jsonb. The walk is iterative, so no nesting depth exhausts the stack,
 * and a path is only built for a NUL found.
 */
export function removeNul(value: unknown, strippable: (path: ValuePath) => boolean = () => false): ValuePath | undefined {
  const root: Visit = { holder: { value }, key: "value", up: undefined };
  const pending: Visit[] = [root];
  for (let visit = pending.pop(); visit; visit = pending.pop()) {
    const current = visit.holder[visit.key];
    if (typeof current === "string") {
      if (!current.includes(NUL)) continue;
      const path = pathOf(visit);
      if (!strippable(path)) return path;
      visit.holder[visit.key] = current.replaceAll(NUL, "");
    } else if (Array.isArray(current)) {
      for (let index = current.length - 1; index >= 0; index--) pending.push({ holder: current as unknown as Record<number, unknown>, key: index, up: visit });
    } else if (isPlainObject(current)) {
      for (const key of Object.keys(current)) {
        let name = key;
        if (key.includes(NUL)) {
          const path = [...pathOf(visit), key.replaceAll(NUL, "\\u0000")];
          if (!strippable(path)) return path;
          name = key.replaceAll(NUL, "");
          current[name] = current[key];
          delete current[key];
        }
        pending.push({ holder: current, key: name, up: visit });
      }
    }
  }
  return undefined;
}

/** The length of a text in characters, as Postgres counts them for varchar(n) (code points, not UTF-16 units). */
export function characterLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}
