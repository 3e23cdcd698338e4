/** POST /api/webhooks/twilio/status: Twilio's status callbacks, arriving late, twice or out of order. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callSid, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { failingDb, readCall, recordOf, withBindings } from "../records.ts";

const STATUS_PATH = "/api/webhooks/twilio/status";
const T0 = Date.parse("2026-11-20T09:00:00Z");

/** A status callback as Twilio sends it; `at` is seconds after T0, sent as the RFC 2822 Timestamp. */
function callback(sid: string, status: string, extra: { seq?: number; at?: number; duration?: number } = {}): Record<string, string> {
  return {
    AccountSid: "AC00000000000000000000000000000000",
    ApiVersion: "2010-04-01",
    CallSid: sid,
    CallStatus: status,
    Direction: "inbound",
    From: "+14155550100",
    To: "+61341517921",
    CallbackSource: "call-progress-events",
    ...(extra.seq !== undefined && { SequenceNumber: String(extra.seq) }),
    ...(extra.at !== undefined && { Timestamp: new Date(T0 + extra.at * 1000).toUTCString().replace("GMT", "+0000") }),
    ...(extra.duration !== undefined && { CallDuration: String(extra.duration) }),
  };
}

async function send(params: Record<string, string>): Promise<Response> {
  return worker(twilioRequest(STATUS_PATH, params));
}

describe("a status callback", () => {
  it("answers 204 with no body", async () => {
    const res = await send(callback(callSid(), "ringing", { seq: 0 }));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("creates the record of a call not yet on record", async () => {
    const sid = callSid();
    await send(callback(sid, "ringing", { seq: 0, at: 0 }));
    expect(await readCall(sid)).toMatchObject({ call_sid: sid, twilio_status: "ringing", twilio_sequence: 0, from_number: "+14155550100", outcome: null });
  });

  it("stores the final status, its duration and when the call was answered and ended", async () => {
    const sid = callSid();
    await send(callback(sid, "in-progress", { seq: 1, at: 5 }));
    await send(callback(sid, "completed", { seq: 2, at: 65, duration: 60 }));
    expect(await readCall(sid)).toMatchObject({
      twilio_status: "completed",
      duration_s: 60,
      twilio_answered_at: T0 + 5_000,
      twilio_ended_at: T0 + 65_000,
      twilio_status_at: T0 + 65_000,
    });
  });

  it.each([
    ["in-progress before ringing", [["in-progress", 1, 5], ["ringing", 0, 1]], "in-progress"],
    ["completed before in-progress", [["completed", 2, 65], ["in-progress", 1, 5]], "completed"],
    ["completed before ringing and in-progress", [["completed", 2, 65], ["ringing", 0, 1], ["in-progress", 1, 5]], "completed"],
    ["no-answer before ringing", [["no-answer", 1, 30], ["ringing", 0, 1]], "no-answer"],
    ["the number-level completed (no SequenceNumber) before in-progress", [["completed", undefined, 65], ["in-progress", 1, 5]], "completed"],
    ["two final statuses, the later SequenceNumber first", [["busy", 3, 20], ["canceled", 2, 10]], "busy"],
  ] as const)("keeps the status furthest along when %s", async (_name, sequence, expected) => {
    const sid = callSid();
    for (const [status, seq, at] of sequence) await send(callback(sid, status, { seq, at }));
    expect((await readCall(sid))?.twilio_status).toBe(expected);
  });

  it("records when the call was answered even if in-progress arrives after completed", async () => {
    const sid = callSid();
    await send(callback(sid, "completed", { seq: 2, at: 65, duration: 60 }));
    await send(callback(sid, "in-progress", { seq: 1, at: 5 }));
    expect(await readCall(sid)).toMatchObject({ twilio_status: "completed", twilio_answered_at: T0 + 5_000, duration_s: 60 });
  });

  it("changes nothing when the same callback arrives twice", async () => {
    const sid = callSid();
    await send(callback(sid, "completed", { seq: 2, at: 65, duration: 60 }));
    const first = await readCall(sid);
    await send(callback(sid, "completed", { seq: 2, at: 65, duration: 60 }));
    expect(await readCall(sid)).toEqual({ ...first, updated_at: expect.any(Number) });
  });

  it("keeps what the voice webhook recorded", async () => {
    const to = uniqueNumber();
    const agentId = uniqueAgentId();
    await env.AGENTS.put(to, agentId);
    const params = voiceParams({ To: to });
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    await recordOf(params.CallSid as string);
    await send(callback(params.CallSid as string, "completed", { duration: 42 }));
    expect(await readCall(params.CallSid as string)).toMatchObject({
      outcome: "connected",
      retell_agent_id: agentId,
      retell_call_id: sipUri(text)?.slice(4, sipUri(text)?.indexOf("@")),
      twilio_status: "completed",
      duration_s: 42,
    });
  });
});

describe("requests the status route refuses", () => {
  it("refuses an unsigned callback with 403 and records nothing", async () => {
    const sid = callSid();
    const res = await worker(twilioRequest(STATUS_PATH, callback(sid, "completed"), { headers: { "X-Twilio-Signature": "" } }));
    expect(res.status).toBe(403);
    expect(await readCall(sid)).toBeNull();
  });

  it.each([
    ["an unknown CallStatus", { CallStatus: "exploded" }],
    ["no CallStatus", { CallStatus: "" }],
    ["no CallSid", { CallSid: "" }],
  ])("answers 400 to %s", async (_name, overrides) => {
    const res = await send({ ...callback(callSid(), "completed"), ...overrides });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "bad_request" });
  });

  it("answers 503 when D1 fails, without the database's reason", async () => {
    const res = await withBindings(twilioRequest(STATUS_PATH, callback(callSid(), "completed")), { DB: failingDb });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ error: "storage_unavailable", message: expect.any(String) });
    expect(res.text).not.toContain("simulated");
  });
});
