// Python's output where v1's texts and keys show it (services/domain/src/python.ts): checked against what CPython
// prints for the same values.
import { describe, expect, test } from "vitest";
import { pythonFloat, pythonJsonDumps, pythonRepr, pythonSetRepr, pythonSortedCharacters, pythonStringRepr } from "../../services/domain/src/python.ts";

describe("Python reprs", () => {
  test("strings: single quotes unless the text has one and no double quote", () => {
    expect(pythonStringRepr("plain")).toBe("'plain'");
    expect(pythonStringRepr("it's")).toBe(`"it's"`);
    expect(pythonStringRepr(`say "it's"`)).toBe(`'say "it\\'s"'`);
    expect(pythonStringRepr("a\\b\n\t\u0001")).toBe("'a\\\\b\\n\\t\\x01'");
  });

  test("a set of names, as v1's missing-parameter message shows it", () => {
    expect(pythonSetRepr(["b", "it's", "a"])).toBe(`{'a', 'b', "it's"}`);
  });

  test("floats as Python prints them", () => {
    expect([150, 0.5, 1e16, 1.5e-5, 123456.789].map(pythonFloat)).toEqual(["150.0", "0.5", "1e+16", "1.5e-05", "123456.789"]);
  });

  test("dicts and lists, None/True/False", () => {
    expect(pythonRepr({ type: "CronClock", start_date: null, day_or: true, n: [1, 2.5] })).toBe(
      "{'type': 'CronClock', 'start_date': None, 'day_or': True, 'n': [1, 2.5]}",
    );
  });

  test("json.dumps and str(sorted(text)), the parts of an auto-schedule key", () => {
    expect(pythonJsonDumps({ a: [1, "é"], b: null })).toBe('{"a": [1, "\\u00e9"], "b": null}');
    expect(pythonSortedCharacters(`{"x": '\\'}`)).toBe(`[' ', '"', '"', "'", "'", ':', '\\\\', 'x', '{', '}']`);
  });
});
