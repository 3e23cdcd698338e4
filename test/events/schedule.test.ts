/** src/events/schedule.ts: what each answer means and when the next attempt is. */
import { describe, expect, it } from "vitest";
import { MAX_ATTEMPTS, MAX_DELAY_S, RETRY_DELAYS_S, classify, retryAfterSeconds, retryDelay } from "../../src/events/schedule.ts";

const NOW = Date.parse("2026-12-06T12:00:00Z");

describe("classify", () => {
  it.each([
    [200, null, "delivered"],
    [204, null, "delivered"],
    [299, null, "delivered"],
    [301, null, "failed"],
    [307, null, "failed"],
    [400, null, "failed"],
    [404, null, "failed"],
    [410, null, "gone"],
    [500, null, "failed"],
  ])("%i is %s", (status, retryAfter, kind) => {
    expect(classify(status, retryAfter, NOW).kind).toBe(kind);
  });

  it.each([429, 502, 503, 504])("%i honours Retry-After", (status) => {
    expect(classify(status, "30", NOW)).toMatchObject({ kind: "failed", retryAfterS: 30 });
  });

  it("ignores Retry-After on a plain 500", () => {
    expect(classify(500, "30", NOW)).not.toHaveProperty("retryAfterS");
  });
});

describe("retryAfterSeconds", () => {
  it.each([
    ["120", 120],
    ["Sun, 06 Dec 2026 12:01:00 GMT", 60],
    ["Sun, 06 Dec 2026 11:00:00 GMT", 0],
    ["soon", undefined],
    [null, undefined],
  ])("%s → %s", (value, seconds) => {
    expect(retryAfterSeconds(value, NOW)).toBe(seconds);
  });
});

describe("retryDelay", () => {
  it("follows the Standard Webhooks schedule within ±10 %, for more than 24 h in all", () => {
    const delays = Array.from({ length: MAX_ATTEMPTS - 1 }, (_, i) => retryDelay(i + 1, undefined, () => 0.5));
    expect(delays).toEqual([...RETRY_DELAYS_S]);
    expect(retryDelay(2, undefined, () => 0)).toBe(270);
    expect(retryDelay(3, undefined, () => 1)).toBe(1_980);
    expect(RETRY_DELAYS_S.reduce((a, b) => a + b, 0)).toBeGreaterThan(24 * 3600);
  });

  it("gives up after the last attempt", () => {
    expect(retryDelay(MAX_ATTEMPTS, undefined)).toBeNull();
  });

  it("waits what Retry-After asks, at most Queues' 24 h", () => {
    expect(retryDelay(1, 90)).toBe(90);
    expect(retryDelay(1, 10 * 86_400)).toBe(MAX_DELAY_S);
    expect(retryDelay(1, 0)).toBe(1);
  });
});
