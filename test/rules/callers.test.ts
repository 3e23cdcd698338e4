/** src/rules/callers.ts: caller patterns (exact, prefix, anonymous) and what counts as a withheld caller. */
import { describe, expect, it } from "vitest";
import { callerNumber, matchesCaller, normalizePattern, validateCallerPatterns } from "../../src/rules/callers.ts";

describe("normalizePattern", () => {
  it.each([
    ["+61 412 345 678", "+61412345678"],
    ["+1 900*", "+1900*"],
    ["+1-900-*", "+1900*"],
    ["Anonymous", "anonymous"],
    ["+44*", "+44*"],
  ])("%s → %s", (input, expected) => {
    expect(normalizePattern(input)).toBe(expected);
  });

  it.each(["0412345678", "+0900*", "*", "+*", "1900*", "+1900**", "restricted", ""])("refuses %j", (input) => {
    expect(normalizePattern(input)).toBeNull();
  });
});

describe("validateCallerPatterns", () => {
  it("names the entry at fault", () => {
    expect(validateCallerPatterns(["+61412345678", "+1900*", 42], "blockedCallers")).toEqual({
      ok: false,
      detail: "blockedCallers[2] is not an E.164 number (+61412345678), a prefix ending in * (+1900*), or anonymous",
    });
  });

  it("refuses a value that is not an array", () => {
    expect(validateCallerPatterns("+1900*", "rules:blocked")).toEqual({ ok: false, detail: "rules:blocked is not an array of caller patterns" });
  });
});

describe("callerNumber", () => {
  it.each([
    ["+61412345678", "+61412345678"],
    ["anonymous", null],
    ["restricted", null],
    ["unknown", null],
    ["client:alice", null],
    ["sip:alice@example.com", null],
    ["+266696687", null],
  ])("%s → %s", (from, expected) => {
    expect(callerNumber(from)).toBe(expected);
  });
});

describe("matchesCaller", () => {
  const patterns = ["+61412345678", "+1900*", "anonymous"];

  it.each([
    ["an exact number", "+61412345678", true],
    ["a number under a prefix", "+19005550100", true],
    ["a withheld caller", null, true],
    ["another number", "+61412345679", false],
    ["a number that only shares the prefix's digits later", "+14190055501", false],
  ])("matches %s: %s", (_name, caller, expected) => {
    expect(matchesCaller(patterns, caller)).toBe(expected);
  });

  it("never matches a withheld caller without the anonymous pattern", () => {
    expect(matchesCaller(["+1900*"], null)).toBe(false);
  });
});
