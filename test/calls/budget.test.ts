import { describe, expect, it } from "vitest";
import { ANSWER_WITHIN_MS, copyWaitMs, retellBudgetMs, timeLeftMs } from "../../src/calls/budget.ts";

describe("the webhook's time", () => {
  const received = 1_000_000;

  it.each([
    // [configured RETELL_TIMEOUT_MS, ms spent before registering (KV, rules, hook), Retell's budget]
    [8_000, 20, 8_000],
    [8_000, 2_520, 8_000],
    [8_000, 5_000, 8_000],
    [12_000, 5_000, 9_000],
    [12_000, 5_100, 8_900],
    [8_000, 7_000, 7_000],
    [8_000, 13_900, 100],
    [8_000, 14_000, 0],
    [8_000, 20_000, 0],
  ])("gives Retell min(%i, 14 000 − %i) = %i ms", (configured, spent, budget) => {
    expect(retellBudgetMs(configured, received, received + spent)).toBe(budget);
  });

  it("leaves a hook its whole 5 s and Retell its default 8 s inside 14 s", () => {
    const afterHook = received + 5_000;
    expect(5_000 + retellBudgetMs(8_000, received, afterHook)).toBeLessThanOrEqual(ANSWER_WITHIN_MS);
  });

  it("never reports less than nothing left", () => {
    expect(timeLeftMs(received, received + 60_000)).toBe(0);
  });

  it.each([
    // [configured RETELL_TIMEOUT_MS, ms the copy spent before asking the line, how long it waits for the holder]
    [8_000, 0, 13_000],
    [2_000, 0, 7_000],
    [12_000, 0, 14_000],
    [8_000, 3_000, 11_000],
    [8_000, 14_500, 0],
  ])("has a copy of the webhook wait for a hook's whole 5 s plus Retell's %i ms, within 14 s: after %i ms, %i ms", (configured, spent, wait) => {
    expect(copyWaitMs(configured, received, received + spent)).toBe(wait);
  });
});
