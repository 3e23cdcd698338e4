/** src/twilio/call-status.ts: reading Twilio's status callbacks and ordering them, without Hono. */
import { describe, expect, it } from "vitest";
import { isFinalStatus, isTwilioCallStatus, readStatusCallback, statusKey, TWILIO_CALL_STATUSES, TWILIO_STATUS_RANK } from "../../src/twilio/call-status.ts";
import { parseForm } from "../../src/twilio/params.ts";

const read = (body: Record<string, string>) => readStatusCallback(parseForm(new URLSearchParams(body).toString()));

describe("readStatusCallback", () => {
  it("reads the status, SequenceNumber, RFC 2822 Timestamp and CallDuration", () => {
    expect(
      read({ CallSid: "CA1", CallStatus: "completed", SequenceNumber: "3", Timestamp: "Fri, 20 Nov 2026 09:01:05 +0000", CallDuration: "65", From: "+14155550100" }),
    ).toEqual({
      ok: true,
      update: { callSid: "CA1", status: "completed", sequence: 3, timestamp: Date.parse("2026-11-20T09:01:05Z"), durationS: 65, from: "+14155550100" },
    });
  });

  it("reads AccountSid, From and To, which name the call's line", () => {
    expect(read({ CallSid: "CA1", CallStatus: "ringing", AccountSid: "AC1", From: "+14155550100", To: "+61341517921" })).toEqual({
      ok: true,
      update: { callSid: "CA1", status: "ringing", accountSid: "AC1", from: "+14155550100", to: "+61341517921" },
    });
  });

  it.each([
    ["SequenceNumber", "-1"],
    ["SequenceNumber", "1.5"],
    ["CallDuration", "soon"],
    ["Timestamp", "not a date"],
  ])("leaves out a %s of %j", (name, value) => {
    const result = read({ CallSid: "CA1", CallStatus: "ringing", [name]: value });
    expect(result).toEqual({ ok: true, update: { callSid: "CA1", status: "ringing" } });
  });

  it.each<Record<string, string>>([{ CallStatus: "ringing" }, { CallSid: "CA1" }, { CallSid: "CA1", CallStatus: "Completed" }])("refuses %j", (body) => {
    expect(read(body)).toMatchObject({ ok: false });
  });
});

describe("statusKey", () => {
  it("orders by how far along the call is before SequenceNumber", () => {
    expect(TWILIO_STATUS_RANK.ringing).toBeLessThan(TWILIO_STATUS_RANK["in-progress"]);
    expect(TWILIO_STATUS_RANK["in-progress"]).toBeLessThan(TWILIO_STATUS_RANK.completed);
  });

  it("sorts a missing SequenceNumber lowest and uses the receipt time without a Timestamp", () => {
    expect(statusKey({ callSid: "CA1", status: "completed" }, 123)).toEqual({ rank: 3, sequence: -1, at: 123 });
  });

  it("takes the SequenceNumber and Timestamp when the callback has them", () => {
    expect(statusKey({ callSid: "CA1", status: "ringing", sequence: 0, timestamp: 1_000 }, 123)).toEqual({ rank: 1, sequence: 0, at: 1_000 });
  });
});

describe("isFinalStatus", () => {
  it.each([
    ["queued", false],
    ["initiated", false],
    ["ringing", false],
    ["in-progress", false],
    ["completed", true],
    ["busy", true],
    ["failed", true],
    ["no-answer", true],
    ["canceled", true],
  ] as const)("%s → %s", (status, expected) => {
    expect(isFinalStatus(status)).toBe(expected);
  });

  it("knows every Twilio call status, and nothing else", () => {
    expect(TWILIO_CALL_STATUSES.every(isTwilioCallStatus)).toBe(true);
    expect(["Completed", "answered", "toString", ""].some(isTwilioCallStatus)).toBe(false);
  });
});
