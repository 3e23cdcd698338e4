/** src/line/transitions.ts: how each event changes a call's record, as plain functions (no object, no Hono). */
import { describe, expect, it } from "vitest";
import type { StatusUpdate, TwilioCallStatus } from "../../src/twilio/call-status.ts";
import type { CallRecord } from "../../src/records/list.ts";
import type { RetellCallUpdate } from "../../src/retell/events.ts";
import {
  answerMachine,
  answerVoice,
  applyDial,
  finishUnanswered,
  placedRecord,
  withAnsweredBy,
  applyRetellEvent,
  applyStatus,
  isFinished,
  newRecord,
  receiveVoice,
  type DialRecord,
  type VoiceAnswer,
} from "../../src/line/transitions.ts";
import {
  applyTransferDial,
  decideTransfer,
  expireTransfer,
  MAX_TRANSFERS_PER_CALL,
  returnToAgent,
  settleTransfer,
  transferUnderWay,
  type TransferRequest,
} from "../../src/line/transitions.ts";

const SID = "CA0123456789abcdef0123456789abcdef";
const T0 = Date.parse("2026-11-20T09:00:00Z");

/** A record with nothing but `fields` known, first seen at T0. */
function record(fields: Partial<CallRecord> = {}): CallRecord {
  return { ...newRecord(SID, T0), ...fields };
}

function answer(fields: Partial<VoiceAnswer> = {}): VoiceAnswer {
  return {
    agentKey: "+61341517921",
    retellAgentId: "agent_front",
    from: "+14155550100",
    to: "+61341517921",
    outcome: "connected",
    retellCallId: "call_first",
    registerMs: 120,
    registerAttempts: 1,
    receivedAt: T0 + 10,
    answeredAt: T0 + 130,
    ...fields,
  };
}

describe("newRecord", () => {
  it("knows nothing but the CallSid and when it was first seen, and is inbound until told otherwise", () => {
    const fresh = newRecord(SID, T0);
    const { callSid, createdAt, updatedAt, direction, announced, ...rest } = fresh;
    expect({ callSid, createdAt, updatedAt, direction, announced }).toEqual({ callSid: SID, createdAt: T0, updatedAt: T0, direction: "inbound", announced: false });
    expect(Object.values(rest).every((value) => value === null)).toBe(true);
  });
});

describe("receiveVoice", () => {
  it("fills who is calling whom and when the webhook arrived", () => {
    expect(receiveVoice(newRecord(SID, T0 + 50), { accountSid: "AC1", from: "+14155550100", to: "+61341517921" }, T0 + 50)).toMatchObject({
      accountSid: "AC1",
      from: "+14155550100",
      to: "+61341517921",
      voiceReceivedAt: T0 + 50,
      createdAt: T0 + 50,
    });
  });

  it("keeps the first arrival time and identity when a later copy of the webhook arrives", () => {
    const first = record({ from: "+14155550100", to: "+61341517921", voiceReceivedAt: T0 });
    expect(receiveVoice(first, { from: "+14155550199", to: "+61341517999" }, T0 + 5_000)).toMatchObject({
      from: "+14155550100",
      to: "+61341517921",
      voiceReceivedAt: T0,
      createdAt: T0,
      updatedAt: T0 + 5_000,
    });
  });
});

describe("answerVoice", () => {
  it("stores the registration and the outcome", () => {
    expect(answerVoice(record(), answer())).toMatchObject({
      agentKey: "+61341517921",
      retellAgentId: "agent_front",
      outcome: "connected",
      outcomeReason: null,
      retellCallId: "call_first",
      retellRegisterMs: 120,
      retellRegisterAttempts: 1,
      voiceReceivedAt: T0 + 10,
      voiceAnsweredAt: T0 + 130,
      updatedAt: T0 + 130,
    });
  });

  it("replaces a failed registration's answer with a later retry's", () => {
    const failed = answerVoice(record(), answer({ outcome: "retell_failed", outcomeReason: "retell_timeout", retellCallId: undefined }));
    expect(answerVoice(failed, answer({ receivedAt: T0 + 9_000, answeredAt: T0 + 9_200 }))).toMatchObject({
      outcome: "connected",
      outcomeReason: null,
      retellCallId: "call_first",
      voiceReceivedAt: T0 + 10,
      voiceAnsweredAt: T0 + 9_200,
    });
  });

  it("keeps the outcome dial-complete set once the call was dialed", () => {
    const dialed = record({ dialStatus: "failed", outcome: "fallback_dialed", outcomeReason: "dial_failed" });
    expect(answerVoice(dialed, answer())).toMatchObject({ outcome: "fallback_dialed", outcomeReason: "dial_failed", retellCallId: "call_first" });
  });

  it("keeps the Retell call id on record when the answer has none", () => {
    expect(answerVoice(record({ retellCallId: "call_first" }), answer({ outcome: "internal_error", retellCallId: undefined }))).toMatchObject({
      retellCallId: "call_first",
      outcome: "internal_error",
    });
  });
});

/** A status callback; `at` is seconds after T0, as the Timestamp (absent when undefined). */
function status(s: TwilioCallStatus, sequence?: number, at?: number, durationS?: number): StatusUpdate {
  return {
    callSid: SID,
    status: s,
    ...(sequence !== undefined && { sequence }),
    ...(at !== undefined && { timestamp: T0 + at * 1_000 }),
    ...(durationS !== undefined && { durationS }),
  };
}

/** Applies callbacks in order, each received one second after the last (from T0 + 100 s). */
function applyAll(updates: StatusUpdate[], start: CallRecord = record()): { record: CallRecord; applied: boolean[] } {
  let current = start;
  const applied: boolean[] = [];
  updates.forEach((update, i) => {
    const result = applyStatus(current, update, T0 + (100 + i) * 1_000);
    current = result.record;
    applied.push(result.applied);
  });
  return { record: current, applied };
}

describe("applyStatus", () => {
  it.each([
    ["the first status of the call", [], status("ringing", 0, 1), true],
    ["a further status", [status("ringing", 0, 1)], status("in-progress", 1, 5), true],
    ["an earlier status after a further one", [status("in-progress", 1, 5)], status("ringing", 0, 1), false],
    ["an earlier status with a later Timestamp", [status("completed", 2, 65)], status("in-progress", 1, 90), false],
    ["a greater SequenceNumber of the same rank", [status("busy", 2, 20)], status("canceled", 3, 10), true],
    ["a smaller SequenceNumber of the same rank, though later", [status("busy", 3, 20)], status("canceled", 2, 30), false],
    ["the same SequenceNumber with a later Timestamp", [status("completed", 2, 65)], status("completed", 2, 70), true],
    ["the same SequenceNumber with the same Timestamp (a repeat)", [status("completed", 2, 65)], status("completed", 2, 65), true],
    ["the same SequenceNumber with an earlier Timestamp", [status("completed", 2, 65)], status("completed", 2, 60), false],
    ["the number-level final status (no SequenceNumber) after in-progress", [status("in-progress", 1, 5)], status("completed"), true],
    ["an event-based final status after the number-level one", [status("completed")], status("completed", 2, 65), true],
    ["no Timestamp, a further status", [status("ringing", 0)], status("in-progress", 1), true],
    ["no Timestamp, a greater SequenceNumber of the same rank", [status("busy", 2)], status("canceled", 3), true],
    ["no Timestamp, the same SequenceNumber (a replay)", [status("completed", 2)], status("completed", 2), false],
    ["no Timestamp and no SequenceNumber (a replay)", [status("completed")], status("completed"), false],
    ["no Timestamp, the same SequenceNumber as a timed status", [status("completed", 2, 65)], status("completed", 2), false],
    ["no Timestamp, an earlier status", [status("completed")], status("ringing"), false],
  ] as const)("%s: applied %s", (_name, before, update, expected) => {
    const { record: stored } = applyAll([...before]);
    expect(applyStatus(stored, update, T0 + 200_000).applied).toBe(expected);
  });

  it("stores the status, SequenceNumber, duration and the times of its steps", () => {
    const { record: r } = applyAll([status("ringing", 0, 1), status("in-progress", 1, 5), status("completed", 2, 65, 60)]);
    expect(r).toMatchObject({
      twilioStatus: "completed",
      twilioSequence: 2,
      twilioStatusAt: T0 + 65_000,
      twilioAnsweredAt: T0 + 5_000,
      twilioEndedAt: T0 + 65_000,
      durationS: 60,
    });
  });

  it("times a callback without Timestamp by its arrival", () => {
    const { record: r } = applyAll([status("completed", undefined, undefined, 42)]);
    expect(r).toMatchObject({ twilioStatus: "completed", twilioStatusAt: T0 + 100_000, twilioEndedAt: T0 + 100_000, durationS: 42 });
  });

  it("keeps the stored times when a callback without Timestamp is replayed", () => {
    const { record: r, applied } = applyAll([status("completed", 2, undefined, 60), status("completed", 2, undefined, 60)]);
    expect(applied).toEqual([true, false]);
    expect(r).toMatchObject({ twilioStatusAt: T0 + 100_000, twilioEndedAt: T0 + 100_000 });
  });

  it("keeps the time a status was first reported when a later callback repeats it", () => {
    const { record: r, applied } = applyAll([status("completed", 2, 65, 60), status("completed", 2, 70, 61)]);
    expect(applied).toEqual([true, true]);
    expect(r).toMatchObject({ twilioStatusAt: T0 + 65_000, twilioEndedAt: T0 + 65_000, durationS: 61 });
  });

  it("records when the call was answered even when in-progress arrives after the final status", () => {
    const { record: r, applied } = applyAll([status("completed", 2, 65, 60), status("in-progress", 1, 5)]);
    expect(applied).toEqual([true, false]);
    expect(r).toMatchObject({ twilioStatus: "completed", twilioAnsweredAt: T0 + 5_000, twilioEndedAt: T0 + 65_000, durationS: 60 });
  });

  it("fills who called whom only where still unknown", () => {
    const known = record({ from: "+14155550100", to: null, accountSid: null });
    const update = { ...status("ringing", 0, 1), from: "+14155550199", to: "+61341517921", accountSid: "AC1" };
    expect(applyStatus(known, update, T0).record).toMatchObject({ from: "+14155550100", to: "+61341517921", accountSid: "AC1" });
  });
});

function dial(report: Partial<DialRecord["report"]>, failure?: DialRecord["failure"]): DialRecord {
  return { report: { callSid: SID, leg: "retell", agentKey: "+61341517921", ...report }, endedAt: T0 + 80_000, ...(failure && { failure }) };
}

describe("applyDial", () => {
  const connected = record({ outcome: "connected", agentKey: "+61341517921", retellCallId: "call_first" });

  it("stores the Retell leg's result and keeps the outcome when it completed", () => {
    expect(applyDial(connected, dial({ status: "completed", sipCode: 200, durationS: 73 }))).toMatchObject({
      outcome: "connected",
      outcomeReason: null,
      dialStatus: "completed",
      dialSipCode: 200,
      dialDurationS: 73,
      dialEndedAt: T0 + 80_000,
      fallbackStatus: null,
    });
  });

  it.each([
    ["fallback_dialed", "dial_busy"],
    ["sip_failed", "dial_sip_404"],
  ] as const)("sets the outcome %s and its reason when the Retell leg failed", (outcome, reason) => {
    expect(applyDial(connected, dial({ status: "busy" }, { outcome, reason }))).toMatchObject({ outcome, outcomeReason: reason, dialStatus: "busy" });
  });

  it("stores the fallback leg's result apart, leaving the Retell leg's and the outcome", () => {
    const failedOver = applyDial(connected, dial({ status: "failed", sipCode: 503 }, { outcome: "fallback_dialed", reason: "dial_failed" }));
    expect(applyDial(failedOver, { ...dial({ leg: "fallback", status: "completed", durationS: 120 }), endedAt: T0 + 200_000 })).toMatchObject({
      outcome: "fallback_dialed",
      outcomeReason: "dial_failed",
      dialStatus: "failed",
      dialSipCode: 503,
      fallbackStatus: "completed",
      fallbackEndedAt: T0 + 200_000,
    });
  });

  it("fills the agent key from the action URL only where still unknown", () => {
    expect(applyDial(record(), dial({ agentKey: "agent:front" })).agentKey).toBe("agent:front");
    expect(applyDial(connected, dial({ agentKey: "agent:front" })).agentKey).toBe("+61341517921");
  });
});

function retell(fields: Partial<RetellCallUpdate> = {}): RetellCallUpdate {
  return { event: "call_ended", callId: "call_first", twilioCallSid: SID, line: "+61341517921", ...fields };
}

describe("applyRetellEvent", () => {
  const answered = record({ retellCallId: "call_first", retellAgentId: "agent_front" });

  it.each([
    [null, "ongoing", "ongoing"],
    ["registered", "ongoing", "ongoing"],
    ["ongoing", "ended", "ended"],
    ["ended", "ongoing", "ended"],
    ["ended", "registered", "ended"],
    ["not_connected", "ongoing", "not_connected"],
    ["ended", "error", "error"],
    ["ended", "something_new", "ended"],
    ["something_new", "ongoing", "ongoing"],
  ])("moves the status only forward: %s then %s → %s", (stored, next, expected) => {
    const result = applyRetellEvent({ ...answered, retellStatus: stored }, retell({ status: next }), T0);
    expect(result).toMatchObject({ kind: "recorded", record: { retellStatus: expected } });
  });

  it("leaves out an event about another registration of the call", () => {
    expect(applyRetellEvent(answered, retell({ callId: "call_other", status: "ended" }), T0)).toEqual({ kind: "other_registration" });
  });

  it("takes the event's Retell call id when the call has none on record yet", () => {
    expect(applyRetellEvent(record(), retell({ callId: "call_early", status: "ongoing" }), T0)).toMatchObject({
      kind: "recorded",
      record: { retellCallId: "call_early", retellStatus: "ongoing", retellEventAt: T0 },
    });
  });

  it("stores the end and the analysis", () => {
    const update = retell({
      event: "call_analyzed",
      status: "ended",
      startedAt: T0,
      endedAt: T0 + 95_000,
      durationMs: 95_000,
      disconnectionReason: "user_hangup",
      summary: "Booked a table.",
      sentiment: "Positive",
      successful: true,
    });
    expect(applyRetellEvent(answered, update, T0 + 100_000)).toEqual({
      kind: "recorded",
      record: {
        ...answered,
        retellStatus: "ended",
        retellStartedAt: T0,
        retellEndedAt: T0 + 95_000,
        retellDurationMs: 95_000,
        disconnectionReason: "user_hangup",
        callSummary: "Booked a table.",
        userSentiment: "Positive",
        callSuccessful: true,
        retellEventAt: T0 + 100_000,
        updatedAt: T0 + 100_000,
      },
    });
  });

  it("keeps the values on record that a later event does not carry", () => {
    const analyzed = record({
      ...answered,
      retellStatus: "ended",
      retellStartedAt: T0,
      retellEndedAt: T0 + 95_000,
      callSummary: "Booked a table.",
      userSentiment: "Positive",
      callSuccessful: false,
    });
    expect(applyRetellEvent(analyzed, retell({ event: "call_started", status: "ongoing", retellAgentId: "agent_other" }), T0)).toMatchObject({
      record: {
        retellStatus: "ended",
        retellAgentId: "agent_front",
        retellStartedAt: T0,
        retellEndedAt: T0 + 95_000,
        callSummary: "Booked a table.",
        userSentiment: "Positive",
        callSuccessful: false,
      },
    });
  });
});

describe("isFinished", () => {
  it.each([
    [null, false],
    ["in-progress", false],
    ["completed", true],
    ["no-answer", true],
  ] as const)("is over when Twilio's status is %s: %s", (twilioStatus, expected) => {
    expect(isFinished(record({ twilioStatus }))).toBe(expected);
  });
});

describe("outbound calls", () => {
  const placed = () => placedRecord(SID, { from: "+61341517921", to: "+14155550100", agentKey: "+61341517921", retellAgentId: "agent_out" }, T0);

  it("knows a placed call's direction, numbers and agent before Twilio calls back", () => {
    expect(placed()).toMatchObject({ direction: "outbound", from: "+61341517921", to: "+14155550100", agentKey: "+61341517921", retellAgentId: "agent_out", outcome: null, createdAt: T0 });
  });

  it("keeps the first AnsweredBy it is told", () => {
    expect(withAnsweredBy(withAnsweredBy(placed(), "machine_start"), "human").answeredBy).toBe("machine_start");
  });

  it("records a machine's answer as machine_answered with the reason, the time it came, and who answered", () => {
    expect(answerMachine(placed(), "fax", "machine_hangup", T0 + 9)).toMatchObject({ answeredBy: "fax", outcome: "machine_answered", outcomeReason: "machine_hangup", voiceReceivedAt: T0 + 9, voiceAnsweredAt: T0 + 9 });
  });

  it.each<[TwilioCallStatus, string]>([
    ["busy", "callee_busy"],
    ["no-answer", "callee_no_answer"],
    ["failed", "callee_failed"],
    ["canceled", "callee_canceled"],
  ])("records a call Twilio ends %s before anyone answered as not_answered, %s", (status, reason) => {
    expect(finishUnanswered({ ...placed(), twilioStatus: status })).toMatchObject({ outcome: "not_answered", outcomeReason: reason });
  });

  it.each<[string, Partial<CallRecord>]>([
    ["still ringing", { twilioStatus: "ringing" }],
    ["answered by the webhook", { twilioStatus: "completed", voiceReceivedAt: T0 + 5, outcome: "connected" }],
    ["an inbound call", { twilioStatus: "busy", direction: "inbound" }],
  ])("leaves the outcome of a call %s alone", (_name, fields) => {
    const before = { ...placed(), ...fields };
    expect(finishUnanswered(before)).toBe(before);
  });
});

describe("transfers", () => {
  const live = () => record({ retellCallId: "call_first", outcome: "connected", twilioStatus: "in-progress" });
  const ask = (fields: Partial<TransferRequest> = {}): TransferRequest => ({ retellCallId: "call_first", destination: "sales", requestKey: "k1", requestedAt: T0 + 1_000, ...fields });
  const proceed = (r: CallRecord, request = ask()) => {
    const decision = decideTransfer(r, request);
    if (decision.kind !== "proceed") throw new Error(`expected proceed, got ${decision.kind}`);
    return decision;
  };

  it("appends a pending attempt for the AI leg bridged now", () => {
    const { index, record: next } = proceed(live());
    expect(index).toBe(0);
    expect(next.transfers).toEqual([expect.objectContaining({ destination: "sales", retellCallId: "call_first", requestKey: "k1", update: "pending", requestedAt: T0 + 1_000 })]);
  });

  it.each([
    ["another Retell call", record({ retellCallId: "call_first" }), ask({ retellCallId: "call_other" })],
    ["a call Twilio reported over", record({ retellCallId: "call_first", twilioStatus: "completed" }), ask()],
  ])("refuses a request from %s as call_not_live", (_name, r, request) => {
    expect(decideTransfer(r, request)).toEqual({ kind: "refused", reason: "call_not_live" });
  });

  it("answers a repeat of a request with its attempt, even once the call is over", () => {
    const { record: next } = proceed(live());
    const over = settleTransfer({ ...next, twilioStatus: "completed" }, 0, { accepted: true }, T0 + 2_000);
    expect(decideTransfer(over, ask())).toMatchObject({ kind: "existing", index: 0, attempt: { update: "accepted" } });
  });

  it("answers another request while one is under way with that attempt", () => {
    const { record: next } = proceed(live());
    expect(decideTransfer(next, ask({ destination: "support", requestKey: "k2" }))).toMatchObject({ kind: "existing", index: 0, attempt: { destination: "sales" } });
  });

  it(`refuses the request after ${MAX_TRANSFERS_PER_CALL} attempts`, () => {
    let r = live();
    for (let i = 0; i < MAX_TRANSFERS_PER_CALL; i++) r = settleTransfer(proceed(r, ask({ requestKey: `k${i}` })).record, i, { accepted: false, error: "twilio_timeout" }, T0 + 2_000);
    expect(decideTransfer(r, ask({ requestKey: "k9" }))).toEqual({ kind: "refused", reason: "too_many_transfers" });
  });

  it("never undoes an accepted update, and takes a late acceptance after an unconfirmed one", () => {
    const { record: next } = proceed(live());
    const accepted = settleTransfer(next, 0, { accepted: true }, T0 + 2_000);
    expect(settleTransfer(accepted, 0, { accepted: false, error: "twilio_timeout" }, T0 + 3_000).transfers?.[0]?.update).toBe("accepted");
    const unconfirmed = expireTransfer(next, T0 + 60_000, 10_000);
    expect(unconfirmed.transfers?.[0]).toMatchObject({ update: "refused", updateError: "twilio_unconfirmed" });
    expect(settleTransfer(unconfirmed, 0, { accepted: true }, T0 + 61_000).transfers?.[0]?.update).toBe("accepted");
  });

  it("keeps a pending update younger than its time to live", () => {
    const { record: next } = proceed(live());
    expect(expireTransfer(next, T0 + 5_000, 10_000)).toBe(next);
  });

  it("is under way while pending and once accepted, until the person's dial is reported", () => {
    const { record: next } = proceed(live());
    expect(transferUnderWay(next)).toBe(0);
    const accepted = settleTransfer(next, 0, { accepted: true }, T0 + 2_000);
    expect(transferUnderWay(accepted)).toBe(0);
    expect(transferUnderWay(applyTransferDial(accepted, 0, { status: "busy", durationS: null }, T0 + 30_000))).toBe(-1);
    expect(transferUnderWay(settleTransfer(next, 0, { accepted: false, error: "twilio_timeout" }, T0 + 2_000))).toBe(-1);
  });

  it("keeps the first report of the person's dial", () => {
    const accepted = settleTransfer(proceed(live()).record, 0, { accepted: true }, T0 + 2_000);
    const first = applyTransferDial(accepted, 0, { status: "completed", durationS: 90 }, T0 + 100_000);
    expect(applyTransferDial(first, 0, { status: "failed", durationS: null }, T0 + 101_000).transfers?.[0]).toMatchObject({ dialStatus: "completed", dialDurationS: 90, dialEndedAt: T0 + 100_000 });
  });

  it("makes the new Retell call the leg bridged, starting its status afresh", () => {
    const ended = { ...settleTransfer(proceed(live()).record, 0, { accepted: true }, T0 + 2_000), retellStatus: "ended", retellEndedAt: T0 + 3_000, disconnectionReason: "call_transfer" };
    const back = returnToAgent(ended, 0, { retellCallId: "call_second" }, T0 + 40_000);
    expect(back).toMatchObject({ retellCallId: "call_second", retellStatus: null, retellEndedAt: null, disconnectionReason: null });
    expect(back.transfers?.[0]).toMatchObject({ retellCallId: "call_first", returnRetellCallId: "call_second" });
    expect(applyRetellEvent(back, { event: "call_started", callId: "call_second", status: "ongoing" }, T0 + 41_000)).toMatchObject({ kind: "recorded", record: { retellStatus: "ongoing" } });
  });
});
