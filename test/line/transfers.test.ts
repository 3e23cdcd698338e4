/**
 * src/line/transfers.ts on a line's own storage: a transfer decided once per request, settled by Twilio's answer,
 * and the way back to the AI registered by one request only. Times are passed in, so no test waits for a clock.
 */
import { describe, expect, it } from "vitest";
import { readCall, writeCall } from "../../src/line/calls-table.ts";
import {
  attemptKey,
  awaitedAttempt,
  backToAgent,
  finishAttempt,
  returnedAttempt,
  settleAttempt,
  TRANSFER_PENDING_TTL_MS,
  transferDecision,
  transferInProgress,
} from "../../src/line/transfers.ts";
import { newRecord } from "../../src/line/transitions.ts";
import { onLineStorage } from "./storage.ts";

const T0 = 1_800_000_000_000;
const REQUEST = { retellCallId: "call_ai", destination: "sales", requestKey: "sales#", requestedAt: T0 };
const NO_ANSWER = { status: "no-answer", durationS: null };

/** A call connected to the AI leg `call_ai`. */
function liveCall(sql: SqlStorage, callSid: string): void {
  writeCall(sql, callSid, { ...newRecord(callSid, T0), retellCallId: "call_ai" }, null);
}

/** A live call with attempt 0 decided and accepted by Twilio. */
function accepted(sql: SqlStorage, callSid: string): void {
  liveCall(sql, callSid);
  transferDecision(sql, callSid, REQUEST, T0);
  settleAttempt(sql, callSid, 0, { accepted: true }, T0 + 1);
}

describe("transferDecision", () => {
  it("knows no call the line does not hold", async () => {
    expect(await onLineStorage((sql) => transferDecision(sql, "CAnone", REQUEST, T0))).toEqual({ kind: "unknown_call" });
  });

  it("lets the first request proceed and stores its attempt as pending", async () => {
    const { start, progress } = await onLineStorage((sql) => {
      liveCall(sql, "CA1");
      return { start: transferDecision(sql, "CA1", REQUEST, T0), progress: transferInProgress(sql, "CA1")?.index };
    });
    expect(start).toMatchObject({ kind: "proceed", index: 0 });
    expect(progress).toBe(0);
  });

  it("gives a repeat of the request the same attempt, not a second one", async () => {
    const repeat = await onLineStorage((sql) => (liveCall(sql, "CA1"), transferDecision(sql, "CA1", REQUEST, T0), transferDecision(sql, "CA1", REQUEST, T0 + 1)));
    expect(repeat).toMatchObject({ kind: "existing", index: 0, attempt: { update: "pending" } });
  });

  it("refuses a transfer asked for by another AI leg than the call's", async () => {
    const refused = await onLineStorage((sql) => (liveCall(sql, "CA1"), transferDecision(sql, "CA1", { ...REQUEST, retellCallId: "call_other" }, T0)));
    expect(refused).toEqual({ kind: "refused", reason: "call_not_live" });
  });
});

describe("awaitedAttempt", () => {
  it("gives up a pending update older than TRANSFER_PENDING_TTL_MS as unconfirmed, and says it wrote", async () => {
    const after = await onLineStorage((sql) => (liveCall(sql, "CA1"), transferDecision(sql, "CA1", REQUEST, T0), awaitedAttempt(sql, "CA1", 0, T0 + TRANSFER_PENDING_TTL_MS)));
    expect(after).toMatchObject({ wrote: true, result: { kind: "existing", index: 0, attempt: { update: "refused", updateError: "twilio_unconfirmed" } } });
  });

  it("leaves a settled attempt as it is", async () => {
    const after = await onLineStorage((sql) => (accepted(sql, "CA1"), awaitedAttempt(sql, "CA1", 0, T0 + TRANSFER_PENDING_TTL_MS)));
    expect(after).toMatchObject({ wrote: false, result: { kind: "existing", attempt: { update: "accepted" } } });
  });
});

describe("settleAttempt", () => {
  it("stores Twilio's answer on the attempt", async () => {
    expect(await onLineStorage((sql) => (liveCall(sql, "CA1"), transferDecision(sql, "CA1", REQUEST, T0), settleAttempt(sql, "CA1", 0, { accepted: false, error: "twilio_timeout" }, T0 + 1)))).toMatchObject({
      attempt: { update: "refused", updateError: "twilio_timeout" },
    });
  });

  it("is null for a call the line does not hold", async () => {
    expect(await onLineStorage((sql) => settleAttempt(sql, "CAnone", 0, { accepted: true }, T0))).toBeNull();
  });
});

describe("finishAttempt", () => {
  it("ends the call when the person answered", async () => {
    const end = await onLineStorage((sql) => (accepted(sql, "CA1"), finishAttempt(sql, "CA1", 0, { status: "completed", durationS: 30 }, T0 + 2, new Set())));
    expect(end).toEqual({ result: { kind: "answered" }, wrote: true });
  });

  it("has the first request register the way back when nobody answered", async () => {
    const end = await onLineStorage((sql) => (accepted(sql, "CA1"), finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 2, new Set())));
    expect(end).toMatchObject({ result: { kind: "return", attempt: { dialStatus: "no-answer" } }, wrote: true });
  });

  it("has a repeat wait while another request registers the way back", async () => {
    const end = await onLineStorage((sql) => (accepted(sql, "CA1"), finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 2, new Set([attemptKey("CA1", 0)]))));
    expect(end).toEqual({ result: { kind: "wait" }, wrote: true });
  });

  it("gives a repeat after the way back the same Retell call, and the record the new leg", async () => {
    const { end, waited, record } = await onLineStorage((sql) => {
      accepted(sql, "CA1");
      finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 2, new Set());
      backToAgent(sql, "CA1", 0, { retellCallId: "call_back" }, T0 + 3);
      return { end: finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 4, new Set()), waited: returnedAttempt(sql, "CA1", 0), record: readCall(sql, "CA1") };
    });
    expect(end).toEqual({ result: { kind: "returned", retellCallId: "call_back" }, wrote: false });
    expect(waited).toEqual({ kind: "returned", retellCallId: "call_back" });
    expect(record?.retellCallId).toBe("call_back");
  });

  it("says the way back failed once its registration failed", async () => {
    const { end, waited } = await onLineStorage((sql) => {
      accepted(sql, "CA1");
      finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 2, new Set());
      backToAgent(sql, "CA1", 0, { error: "retell_unavailable" }, T0 + 3);
      return { end: finishAttempt(sql, "CA1", 0, NO_ANSWER, T0 + 4, new Set()).result, waited: returnedAttempt(sql, "CA1", 0) };
    });
    expect([end, waited]).toEqual([{ kind: "return_failed" }, { kind: "return_failed" }]);
  });

  it("knows no attempt the call does not have", async () => {
    expect(await onLineStorage((sql) => (liveCall(sql, "CA1"), finishAttempt(sql, "CA1", 0, NO_ANSWER, T0, new Set())))).toEqual({ result: { kind: "unknown" }, wrote: false });
  });
});
