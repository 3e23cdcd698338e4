import { describe, expect, it } from "vitest";
import { maskKey, maskPhone, normalizeE164 } from "../src/phone.ts";

describe("normalizeE164", () => {
  it.each([
    ["+61341517921", "+61341517921"],
    ["+61 3 4151 7921", "+61341517921"],
    ["+61-3-4151-7921", "+61341517921"],
    ["+1 (415) 555.0100", "+14155550100"],
    ["  +14155550100  ", "+14155550100"],
  ])("normalizes %j to %s", (input, expected) => {
    expect(normalizeE164(input)).toBe(expected);
  });

  it.each(["61341517921", "+0341517921", "+1234", "+1234567890123456", "+1415abc0100", "client:alice", "", "sip:x@y.com"])(
    "rejects %j",
    (input) => {
      expect(normalizeE164(input)).toBeNull();
    },
  );
});

describe("maskPhone", () => {
  it.each([
    ["+61341517921", "+*******7921"],
    ["+14155550100", "+*******0100"],
    ["1234", "****"],
    ["anonymous", "*********"],
  ])("masks %s as %s", (input, expected) => {
    expect(maskPhone(input)).toBe(expected);
  });

  it("keeps nothing but the last four digits", () => {
    expect(maskPhone("+61341517921")).not.toMatch(/6134151/);
  });
});

describe("maskKey", () => {
  it.each([
    ["+61341517921", "+*******7921"],
    ["agent:front-desk", "agent:front-desk"],
    [null, null],
  ])("logs the KV key %s as %s", (key, expected) => {
    expect(maskKey(key)).toBe(expected);
  });
});
