// How Python prints values, where v1's texts and keys show Python's output: error messages with a set or a dict in
// them, the auto-schedule idempotency keys (md5 of Python's sorted characters of json.dumps), the towel's warnings
// with a float. One definition each; nothing else in the project formats a Python value.
import { isObject } from "./inputs.ts";


/** Python's repr of a float, from JS's shortest round-trip digits. */
export function pythonFloat(value: number): string {
  const [mantissa, exponentText] = value.toExponential().split("e") as [string, string];
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = String(value);
  return text.includes(".") ? text : `${text}.0`;
}

/** Python's `json.dumps(value)` (default separators, ensure_ascii) for JSON values. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
    return Number.isInteger(value) && Math.abs(value) < 1e16 ? String(value) : pythonFloat(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(", ")}]`;
  if (isObject(value)) return `{${Object.entries(value).map(([key, item]) => `${pythonJsonDumps(key)}: ${pythonJsonDumps(item)}`).join(", ")}}`;
  return "null";
}

/** Python's repr of a string. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const body = [...text]
    .map((char) => {
      if (char === "\\") return "\\\\";
      if (char === quote) return `\\${char}`;
      if (char === "\n") return "\\n";
      if (char === "\r") return "\\r";
      if (char === "\t") return "\\t";
      const code = char.codePointAt(0)!;
      return code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char;
    })
    .join("");
  return `${quote}${body}${quote}`;
}

/** Python's repr of a JSON value (as v1's error texts show dicts: `{'type': 'CronClock', 'start_date': None}`). */
export function pythonRepr(value: unknown): string {
  if (value === null || value === undefined) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "number") return pythonJsonDumps(value);
  if (typeof value === "string") return pythonStringRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(", ")}]`;
  if (isObject(value)) return `{${Object.entries(value).map(([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`).join(", ")}}`;
  return "None";
}

/** Python's `str(sorted(text))`: the repr of the list of the text's characters in code-point order. */
export function pythonSortedCharacters(text: string): string {
  const characters = [...text].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `[${characters.map(pythonStringRepr).join(", ")}]`;
}

/** Python's repr of a set of strings (`{'a', "it's"}`), elements in sorted order (Python's is arbitrary). */
export const pythonSetRepr = (names: readonly string[]): string => `{${[...names].sort().map(pythonStringRepr).join(", ")}}`;
