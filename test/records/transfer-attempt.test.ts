/**
 * src/records/transfer-attempt.ts: a new attempt, and how an attempt's state reads.
 */
import { describe, expect, it } from "vitest";
import { isUnanswered, isUnderWay, newAttempt } from "../../src/records/transfer-attempt.ts";
import { transferAttempt } from "../transfer-attempt.ts";

describe("newAttempt", () => {
  it("keeps the request and awaits Twilio's answer, with nothing else known", () => {
    expect(newAttempt({ destination: "sales", requestedAt: 5, retellCallId: "call_x", requestKey: "rk" })).toEqual({
      destination: "sales",
      requestedAt: 5,
      retellCallId: "call_x",
      requestKey: "rk",
      update: "pending",
      updateError: null,
      dialStatus: null,
      dialDurationS: null,
      dialEndedAt: null,
      returnRetellCallId: null,
      returnError: null,
    });
  });
});

describe("isUnderWay", () => {
  it.each([
    ["awaiting Twilio's answer", transferAttempt(), true],
    ["accepted, the person's dial not over", transferAttempt({ update: "accepted" }), true],
    ["accepted, the person's dial over", transferAttempt({ update: "accepted", dialStatus: "completed" }), false],
    ["refused", transferAttempt({ update: "refused", updateError: "twilio_timeout" }), false],
  ])("%s", (_name, attempt, expected) => {
    expect(isUnderWay(attempt)).toBe(expected);
  });
});

describe("isUnanswered", () => {
  it.each([
    ["busy", true],
    ["no-answer", true],
    ["failed", true],
    ["canceled", true],
    ["completed", false],
    [null, false],
  ])("DialCallStatus %s: %s", (status, expected) => {
    expect(isUnanswered(status)).toBe(expected);
  });
});
