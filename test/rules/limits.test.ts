/** src/rules/limits.ts: which keys each rate-limit binding counts, and when the number's is left alone. */
import { describe, expect, it } from "vitest";
import { countCall, type Limiters } from "../../src/rules/limits.ts";

/** Limiters that record each key they count and answer from `over` (keys already over their limit). */
function recording(over: string[] = []) {
  const counted: Record<"caller" | "number", string[]> = { caller: [], number: [] };
  const limiter = (which: "caller" | "number") =>
    ({ limit: ({ key }: { key: string }) => (counted[which].push(key), Promise.resolve({ success: !over.includes(key) })) }) as unknown as RateLimit;
  const limiters: Limiters = { CALLER_RATE_LIMITER: limiter("caller"), NUMBER_RATE_LIMITER: limiter("number") };
  return { limiters, counted };
}

describe("countCall", () => {
  it("counts the caller's number and the dialed number, both in E.164", async () => {
    const { limiters, counted } = recording();
    expect(await countCall(limiters, "+14155550100", "+61 3 4151 7921")).toEqual({ caller: true, number: true });
    expect(counted).toEqual({ caller: ["+14155550100"], number: ["+61341517921"] });
  });

  it("counts every withheld caller of one line under one key, apart from another line's", async () => {
    const { limiters, counted } = recording();
    await countCall(limiters, "anonymous", "+61341517921");
    await countCall(limiters, "restricted", "+61 3 4151 7921");
    await countCall(limiters, "anonymous", "+61390000000");
    expect(counted.caller).toEqual(["anonymous:+61341517921", "anonymous:+61341517921", "anonymous:+61390000000"]);
  });

  it("leaves the number's count alone for a caller over their own limit", async () => {
    const { limiters, counted } = recording(["+14155550100"]);
    expect(await countCall(limiters, "+14155550100", "+61341517921")).toEqual({ caller: false, number: true });
    expect(counted.number).toEqual([]);
  });

  it("reports the number over its limit", async () => {
    const { limiters } = recording(["+61341517921"]);
    expect(await countCall(limiters, "+14155550100", "+61341517921")).toEqual({ caller: true, number: false });
  });
});
