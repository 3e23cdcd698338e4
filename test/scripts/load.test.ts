/**
 * The short load test: a few hundred concurrent signed calls through `wrangler dev` while the Retell stand-in
 * fails, stalls and drops connections, some first webhooks arrive as a burst of copies, and D1 goes away in the
 * middle, and call events go to a receiver that fails, drops and goes down. One run; each behaviour its own check
 * of the tally (`npm run load` is the long version).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LOAD, runLoad, tallyProblems, type LoadReport } from "../../scripts/load.ts";
import { busyLineProblems, type BusyLineOptions } from "../../scripts/lib/busy-line.ts";

/**
 * 16 callers at once on a line taking 5, each call 4 s against a 10 s limit: the held are dequeued through Twilio's
 * REST API as calls end or their time runs out, none past maxHoldSeconds, though a turn of hold music lasts 2 minutes.
 */
const BUSY_LINE: BusyLineOptions = { calls: 16, maxConcurrentCalls: 5, maxHoldSeconds: 10, connectedMs: 4_000, turnMs: 120_000, graceMs: 5_000 };

describe("under load with a failing Retell, copies of webhooks and a D1 outage", () => {
  let report: LoadReport;
  beforeAll(async () => {
    // maxSeconds bounds the run, wrangler dev's start-up included: generous, since a loaded 2-core machine
    // takes minutes over what takes seconds alone, and a run cut short fails the first check.
    report = await runLoad({
      ...DEFAULT_LOAD,
      requests: 300,
      concurrency: 16,
      numbers: 40,
      repeatRate: 0.1,
      copies: { rate: 0.1, min: 3, max: 10 },
      maxSeconds: 300,
      // The whole (shortened) schedule fits the wait, so an event is missing only if it was lost.
      events: { failRate: 0.2, dropRate: 0.05, downAfter: 0.5, downSeconds: 5, retryScale: 0.001, waitSeconds: 300 },
      busyLine: BUSY_LINE,
    });
  }, 900_000);

  it("sends every request, with repeats and bursts of copies among them", () => {
    expect(report.tally.sent).toBe(300);
    expect(report.tally.repeats).toBeGreaterThan(0);
    expect(report.tally.copyBursts).toBeGreaterThan(0);
  });

  it("answers every call with SIP TwiML or the number's documented fallback, never 5xx", () => {
    const { tally } = report;
    expect({ status5xx: tally.status5xx, statusOther: tally.statusOther, other: tally.answered.other, wrongFallback: tally.wrongFallback }).toEqual({ status5xx: 0, statusOther: 0, other: 0, wrongFallback: 0 });
    // The down agents make sure each kind of answer really occurred, so the checks above were exercised.
    expect(tally.answered.sip).toBeGreaterThan(0);
    expect(tally.answered.fallback_number).toBeGreaterThan(0);
    expect(tally.answered.apology).toBeGreaterThan(0);
  });

  it("registers each CallSid once, however many copies arrive at once or later", () => {
    const { tally } = report;
    expect({ duplicates: tally.duplicateRegistrations, foreign: tally.foreignCallIds, bursts: tally.burstsAnsweredDifferently, repeats: tally.repeatsAnsweredDifferently }).toEqual({ duplicates: 0, foreign: 0, bursts: 0, repeats: 0 });
  });

  it("keeps answering while D1 is gone, and its copies to D1 really fail meanwhile", () => {
    expect(report.tally.sentDuringOutage).toBeGreaterThan(0);
    expect(report.tally.copyFailuresLogged).toBeGreaterThan(0);
  });

  it("has a record in D1 for every call, matching its answer, within a minute of D1's return", () => {
    const { tally } = report;
    expect({ records: tally.records, missing: tally.missingRecords, mismatched: tally.mismatchedRecords }).toEqual({ records: tally.uniqueCalls, missing: 0, mismatched: 0 });
    expect(tally.recordsCompleteAfterSeconds).not.toBeNull();
    expect(tally.recordsCompleteAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("delivers every call's events to the receiver at least once, signed, in order, none left pending or failed", () => {
    const events = report.tally.events;
    expect(events).not.toBeNull();
    if (!events) return;
    expect(events.refused).toBeGreaterThan(0);
    expect(events.expected).toBe(report.tally.uniqueCalls + events.statusAccepted);
    expect({ missing: events.missing, unverified: events.unverified, outOfOrder: events.outOfOrder, pending: events.pending, failed: events.failed }).toEqual({
      missing: 0,
      unverified: 0,
      outOfOrder: 0,
      pending: 0,
      failed: 0,
    });
    expect(events.deliveredIds).toBeGreaterThanOrEqual(events.expected);
  });

  it("never connects more than maxConcurrentCalls on the busy line, holds the rest and connects or sends on every one of them", () => {
    const busy = report.busyLine;
    expect(busy && { most: busy.maxConnectedAtOnce <= BUSY_LINE.maxConcurrentCalls, lost: busy.lost, heldTooLong: busy.heldTooLong }).toEqual({ most: true, lost: 0, heldTooLong: 0 });
    expect(busy?.held).toBeGreaterThan(0);
    expect((busy?.connected ?? 0) + (busy?.sentOn ?? 0)).toBe(BUSY_LINE.calls);
    expect(busy ? busyLineProblems(busy, BUSY_LINE) : ["no busy-line report"]).toEqual([]);
  });

  it("finds nothing else wrong in the tally", () => {
    expect(tallyProblems(report.tally)).toEqual([]);
  });
});
