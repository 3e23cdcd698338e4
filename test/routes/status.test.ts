/** POST /api/webhooks/twilio/status: Twilio's status callbacks, arriving late, twice or out of order, stored in the call's line. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { callSid, sipUri, twilioRequest, worker } from "../helpers.ts";
import { answeredCall, captureLogs, failingDb, failingLines, hangingDb, lineRecord, readCall, recordOf, withBindings } from "../records.ts";

const STATUS_PATH = "/api/webhooks/twilio/status";
const T0 = Date.parse("2026-11-20T09:00:00Z");

/** A status callback as Twilio sends it for a call to `line`; `at` is seconds after T0, sent as the RFC 2822 Timestamp. */
function callback(sid: string, line: string, status: string, extra: { seq?: number; at?: number; duration?: number } = {}): Record<string, string> {
  return {
    AccountSid: "AC00000000000000000000000000000000",
    ApiVersion: "2010-04-01",
    CallSid: sid,
    CallStatus: status,
    Direction: "inbound",
    From: "+14155550100",
    To: line,
    CallbackSource: "call-progress-events",
    ...(extra.seq !== undefined && { SequenceNumber: String(extra.seq) }),
    ...(extra.at !== undefined && { Timestamp: new Date(T0 + extra.at * 1000).toUTCString().replace("GMT", "+0000") }),
    ...(extra.duration !== undefined && { CallDuration: String(extra.duration) }),
  };
}

async function send(params: Record<string, string>): Promise<Response> {
  return worker(twilioRequest(STATUS_PATH, params));
}

/** A call the voice webhook answered, and a sender of its status callbacks. */
async function liveCall() {
  const call = await answeredCall();
  const status = (s: string, extra?: { seq?: number; at?: number; duration?: number }) => send(callback(call.sid, call.line, s, extra));
  return { ...call, status, record: () => lineRecord(call.line, call.sid) };
}

afterEach(() => vi.restoreAllMocks());

describe("a status callback", () => {
  it("answers 204 with no body", async () => {
    const call = await liveCall();
    const res = await call.status("ringing", { seq: 0 });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("is stored in the call's line by the time it is answered", async () => {
    const call = await liveCall();
    await call.status("ringing", { seq: 0, at: 1 });
    expect(await call.record()).toMatchObject({ callSid: call.sid, twilioStatus: "ringing", twilioSequence: 0, twilioStatusAt: T0 + 1_000 });
  });

  it("stores the final status, its duration and when the call was answered and ended", async () => {
    const call = await liveCall();
    await call.status("in-progress", { seq: 1, at: 5 });
    await call.status("completed", { seq: 2, at: 65, duration: 60 });
    expect(await call.record()).toMatchObject({
      twilioStatus: "completed",
      durationS: 60,
      twilioAnsweredAt: T0 + 5_000,
      twilioEndedAt: T0 + 65_000,
      twilioStatusAt: T0 + 65_000,
    });
  });

  it.each([
    ["in-progress before ringing", [["in-progress", 1, 5], ["ringing", 0, 1]], "in-progress"],
    ["completed before in-progress", [["completed", 2, 65], ["in-progress", 1, 5]], "completed"],
    ["completed before ringing and in-progress", [["completed", 2, 65], ["ringing", 0, 1], ["in-progress", 1, 5]], "completed"],
    ["no-answer before ringing", [["no-answer", 1, 30], ["ringing", 0, 1]], "no-answer"],
    ["the number-level completed (no SequenceNumber) before in-progress", [["completed", undefined, 65], ["in-progress", 1, 5]], "completed"],
    ["two final statuses, the later SequenceNumber first", [["busy", 3, 20], ["canceled", 2, 10]], "busy"],
    ["two final statuses without Timestamp, the later SequenceNumber first", [["busy", 3, undefined], ["canceled", 2, undefined]], "busy"],
  ] as const)("keeps the status furthest along when %s", async (_name, sequence, expected) => {
    const call = await liveCall();
    for (const [status, seq, at] of sequence) await call.status(status, { seq, at });
    expect((await call.record())?.twilioStatus).toBe(expected);
  });

  it("records when the call was answered even if in-progress arrives after completed", async () => {
    const call = await liveCall();
    await call.status("completed", { seq: 2, at: 65, duration: 60 });
    await call.status("in-progress", { seq: 1, at: 5 });
    expect(await call.record()).toMatchObject({ twilioStatus: "completed", twilioAnsweredAt: T0 + 5_000, durationS: 60 });
  });

  it("changes nothing when the same callback arrives twice", async () => {
    const call = await liveCall();
    await call.status("completed", { seq: 2, at: 65, duration: 60 });
    const first = await call.record();
    await call.status("completed", { seq: 2, at: 65, duration: 60 });
    expect(await call.record()).toEqual({ ...first, updatedAt: expect.any(Number) });
  });

  it("keeps when the call ended when a completed without Timestamp arrives again later", async () => {
    const call = await liveCall();
    await call.status("completed", { duration: 60 });
    const first = await call.record();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await call.status("completed", { duration: 60 });
    const again = await call.record();
    expect(again?.updatedAt).toBeGreaterThan(first?.updatedAt ?? Infinity);
    expect(again).toMatchObject({ twilioStatusAt: first?.twilioStatusAt, twilioEndedAt: first?.twilioEndedAt });
  });

  it("keeps what the voice webhook recorded", async () => {
    const call = await liveCall();
    await call.status("completed", { duration: 42 });
    const uri = sipUri(call.twiml) ?? "";
    expect(await call.record()).toMatchObject({
      outcome: "connected",
      retellAgentId: call.agentId,
      retellCallId: uri.slice("sip:".length, uri.indexOf("@")),
      twilioStatus: "completed",
      durationS: 42,
    });
  });

  it("reaches D1 with the call's answer soon after", async () => {
    const call = await liveCall();
    await call.status("completed", { seq: 2, at: 65, duration: 60 });
    expect(await recordOf(call.sid, (row) => row.twilio_status === "completed")).toMatchObject({
      outcome: "connected",
      retell_agent_id: call.agentId,
      duration_s: 60,
      twilio_ended_at: T0 + 65_000,
    });
  });

  it("is acknowledged, logged as unknown_call and stored nowhere for a dialed leg the line does not know (an inbound one is missed: status-missed.test.ts)", async () => {
    const call = await liveCall();
    const unknown = callSid();
    const logs = captureLogs();
    const res = await send({ ...callback(unknown, call.line, "completed", { seq: 2, duration: 60 }), Direction: "outbound-dial", From: call.line, To: "+14155550100" });
    expect(res.status).toBe(204);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.status", callSid: unknown, result: "unknown_call" }));
    expect(await lineRecord(call.line, unknown)).toBeNull();
    // The line's next copy to D1 (carrying the known call's status) brings nothing of the unknown one.
    await call.status("completed", { seq: 2, duration: 60 });
    await recordOf(call.sid, (row) => row.twilio_status === "completed");
    expect(await readCall(unknown)).toBeNull();
  });
});

describe("what the status route does without D1", () => {
  it.each([
    ["failing", () => failingDb],
    ["hanging", () => hangingDb().db],
  ])("answers 204 and stores the status in the line with D1 %s", async (_name, db) => {
    const call = await liveCall();
    const res = await withBindings(twilioRequest(STATUS_PATH, callback(call.sid, call.line, "completed", { seq: 2, duration: 60 })), { DB: db() });
    expect(res.status).toBe(204);
    expect(await call.record()).toMatchObject({ twilioStatus: "completed", durationS: 60 });
  });
});

describe("requests the status route refuses", () => {
  it("refuses an unsigned callback with 403 and stores nothing", async () => {
    const call = await liveCall();
    const res = await worker(twilioRequest(STATUS_PATH, callback(call.sid, call.line, "completed"), { headers: { "X-Twilio-Signature": "" } }));
    expect(res.status).toBe(403);
    expect(await call.record()).toMatchObject({ twilioStatus: null });
  });

  it.each([
    ["an unknown CallStatus", { CallStatus: "exploded" }],
    ["no CallStatus", { CallStatus: "" }],
    ["no CallSid", { CallSid: "" }],
    ["no To on an inbound call (no line to find it in)", { To: "" }],
  ])("answers 400 to %s", async (_name, overrides) => {
    const res = await send({ ...callback(callSid(), "+61341517921", "completed"), ...overrides });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad_request" });
  });

  it("answers 503 when the line's object fails, without its reason", async () => {
    const call = await liveCall();
    const res = await withBindings(twilioRequest(STATUS_PATH, callback(call.sid, call.line, "completed")), { LINES: failingLines });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ error: "storage_unavailable", message: expect.any(String) });
    expect(res.text).not.toContain("simulated");
    expect(await call.record()).toMatchObject({ twilioStatus: null });
  });
});
