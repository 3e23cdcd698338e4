/**
 * The short load test: a few hundred concurrent signed calls through `wrangler dev` while the Retell stand-in
 * fails, stalls and drops connections. The tally must hold exactly (`npm run load` is the long version).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_LOAD, runLoad, tallyProblems } from "../../scripts/load.ts";

describe("under load with a failing Retell", () => {
  it("answers every call with SIP TwiML or the documented fallback, loses no record and registers no CallSid twice", async () => {
    const report = await runLoad({ ...DEFAULT_LOAD, requests: 300, concurrency: 16, numbers: 40, repeatRate: 0.1, maxSeconds: 120 });
    const { tally } = report;
    expect(tallyProblems(tally)).toEqual([]);
    expect(tally.sent).toBe(300);
    expect(tally.repeats).toBeGreaterThan(0);
    // The down agents make sure each kind of answer really occurred, so the checks above were exercised.
    expect(tally.answered.sip).toBeGreaterThan(0);
    expect(tally.answered.fallback_number).toBeGreaterThan(0);
    expect(tally.answered.apology).toBeGreaterThan(0);
  }, 180_000);
});
