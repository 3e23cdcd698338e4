/** src/line/outbound-limits.ts: reading the limits and deciding whether one more call may start. */
import { describe, expect, it } from "vitest";
import { checkLimits, DEFAULT_ACCOUNT_DAILY_LIMIT, DEFAULT_DAILY_LIMIT, DEFAULT_MAX_CONCURRENT, outboundLimits, utcDay } from "../../src/line/outbound-limits.ts";

const LIMITS = { maxConcurrent: 2, dailyLimit: 10, accountDailyLimit: 100 };

describe("outboundLimits", () => {
  it("defaults to 5 at once and 500 a day per number, 1,000 a day for the account", () => {
    expect(outboundLimits({ OUTBOUND_MAX_CONCURRENT: "", OUTBOUND_DAILY_LIMIT: "" })).toEqual({
      ok: true,
      limits: { maxConcurrent: DEFAULT_MAX_CONCURRENT, dailyLimit: DEFAULT_DAILY_LIMIT, accountDailyLimit: DEFAULT_ACCOUNT_DAILY_LIMIT },
    });
    expect([DEFAULT_MAX_CONCURRENT, DEFAULT_DAILY_LIMIT, DEFAULT_ACCOUNT_DAILY_LIMIT]).toEqual([5, 500, 1_000]);
  });

  it("reads whole numbers, 0 included (no outbound calls)", () => {
    expect(outboundLimits({ OUTBOUND_MAX_CONCURRENT: "0", OUTBOUND_DAILY_LIMIT: "20", OUTBOUND_ACCOUNT_DAILY_LIMIT: "30" })).toEqual({ ok: true, limits: { maxConcurrent: 0, dailyLimit: 20, accountDailyLimit: 30 } });
  });

  it.each(["five", "-1", "2.5"])("refuses %j rather than falling open", (value) => {
    expect(outboundLimits({ OUTBOUND_MAX_CONCURRENT: value })).toEqual({ ok: false, message: expect.stringContaining("OUTBOUND_MAX_CONCURRENT must be a whole number") });
    expect(outboundLimits({ OUTBOUND_ACCOUNT_DAILY_LIMIT: value })).toEqual({ ok: false, message: expect.stringContaining("OUTBOUND_ACCOUNT_DAILY_LIMIT must be a whole number") });
  });
});

describe("checkLimits", () => {
  it("lets a call start below both limits", () => {
    expect(checkLimits(1, 9, LIMITS)).toEqual({ ok: true });
  });

  it.each([
    [2, 0, "concurrent"],
    [0, 10, "daily"],
    [2, 10, "concurrent"],
  ] as const)("with %i in progress and %i started today: %s", (active, started, limit) => {
    expect(checkLimits(active, started, LIMITS)).toMatchObject({ ok: false, limit });
  });
});

describe("utcDay", () => {
  it("is the UTC date, whatever the local time", () => {
    expect(utcDay(Date.parse("2026-11-20T23:59:59.999Z"))).toBe("2026-11-20");
    expect(utcDay(Date.parse("2026-11-21T00:00:00Z"))).toBe("2026-11-21");
  });
});
