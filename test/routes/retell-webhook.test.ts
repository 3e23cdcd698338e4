/** POST /api/webhooks/retell: Retell's call events, signed with retell-sdk's own `sign`, stored in the call's line. */
import { symmetric } from "retell-sdk/lib/webhook_auth";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CallRecord } from "../../src/records/list.ts";
import { callSid, retellRequests, worker } from "../helpers.ts";
import { TEST_RETELL_API_KEY } from "../secrets.ts";
import {
  answeredCall,
  captureLogs,
  failingDb,
  failingLines,
  hangingDb,
  lineRecord,
  readCall,
  recordOf,
  retellCall,
  retellRequest,
  withBindings,
} from "../records.ts";

const STARTED = Date.parse("2026-11-20T09:00:00Z");

/** A call answered by the voice webhook, with the Retell call its events are about, as Retell holds it (metadata included). */
async function registeredCall(): Promise<{ sid: string; line: string; call: Record<string, unknown>; record: () => Promise<CallRecord | null> }> {
  const { sid, line, agentId } = await answeredCall();
  const registration = (await retellRequests(agentId)).find((r) => r.path === "/v2/register-phone-call" && r.callId);
  if (!registration) throw new Error(`the stand-in registered no call for ${agentId}`);
  const { metadata } = registration.body as { metadata: Record<string, unknown> };
  const call = retellCall({ call_id: registration.callId, agent_id: agentId, to_number: line, metadata });
  return { sid, line, call, record: () => lineRecord(line, sid) };
}

const ended = (call: Record<string, unknown>) => ({
  event: "call_ended",
  call: { ...call, call_status: "ended", start_timestamp: STARTED, end_timestamp: STARTED + 95_000, duration_ms: 95_000, disconnection_reason: "user_hangup" },
});
const analyzed = (call: Record<string, unknown>) => ({
  event: "call_analyzed",
  call: {
    ...ended(call).call,
    call_analysis: { call_summary: "The caller booked a table for two.", user_sentiment: "Positive", call_successful: true, in_voicemail: false },
  },
});

async function deliver(payload: unknown): Promise<Response> {
  return worker(await retellRequest(payload));
}

afterEach(() => vi.restoreAllMocks());

describe("a signed Retell event", () => {
  it("answers 204 with no body", async () => {
    const { call } = await registeredCall();
    const res = await deliver({ event: "call_started", call: { ...call, start_timestamp: STARTED } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("finds its line and call through the metadata the voice webhook registered", async () => {
    const { sid, line, call } = await registeredCall();
    expect(call.metadata).toMatchObject({ twilio_call_sid: sid, twilio_line: line });
  });

  it("call_started: stores the status and start time in the call's line by the time it is answered", async () => {
    const { call, record } = await registeredCall();
    await deliver({ event: "call_started", call: { ...call, start_timestamp: STARTED } });
    expect(await record()).toMatchObject({ retellStatus: "ongoing", retellStartedAt: STARTED, retellEventAt: expect.any(Number), outcome: "connected" });
  });

  it("call_ended: stores the end, duration and disconnection reason", async () => {
    const { call, record } = await registeredCall();
    await deliver(ended(call));
    expect(await record()).toMatchObject({
      retellStatus: "ended",
      retellStartedAt: STARTED,
      retellEndedAt: STARTED + 95_000,
      retellDurationMs: 95_000,
      disconnectionReason: "user_hangup",
    });
  });

  it("call_analyzed: stores the summary, sentiment and success flag", async () => {
    const { call, record } = await registeredCall();
    await deliver(analyzed(call));
    expect(await record()).toMatchObject({ callSummary: "The caller booked a table for two.", userSentiment: "Positive", callSuccessful: true });
  });

  it("reaches D1 with the call's answer soon after", async () => {
    const { sid, call } = await registeredCall();
    await deliver(analyzed(call));
    expect(await recordOf(sid, (row) => row.call_summary !== null)).toMatchObject({
      outcome: "connected",
      retell_call_id: call.call_id,
      retell_status: "ended",
      call_summary: "The caller booked a table for two.",
      call_successful: 1,
    });
  });

  it("changes nothing when the same event arrives again", async () => {
    const { call, record } = await registeredCall();
    await deliver(analyzed(call));
    const first = await record();
    const res = await deliver(analyzed(call));
    expect(res.status).toBe(204);
    expect(await record()).toEqual({ ...first, retellEventAt: expect.any(Number), updatedAt: expect.any(Number) });
  });

  it("keeps ended and the analysis when a late call_started arrives after them", async () => {
    const { call, record } = await registeredCall();
    await deliver(analyzed(call));
    await deliver({ event: "call_started", call: { ...call, call_status: "ongoing", start_timestamp: STARTED } });
    expect(await record()).toMatchObject({ retellStatus: "ended", retellEndedAt: STARTED + 95_000, callSummary: "The caller booked a table for two." });
  });

  it("takes the CallSid from telephony_identifier when the metadata has only the line", async () => {
    const { sid, line, call, record } = await registeredCall();
    await deliver(ended({ ...call, metadata: { twilio_line: line }, telephony_identifier: { twilio_call_sid: sid } }));
    expect(await record()).toMatchObject({ retellStatus: "ended" });
  });

  it("accepts the event name as event_type, as one Retell page shows it", async () => {
    const { call, record } = await registeredCall();
    const { event, ...rest } = ended(call);
    await deliver({ event_type: event, ...rest });
    expect(await record()).toMatchObject({ retellStatus: "ended" });
  });

  it("is acknowledged, logged as unknown_call and stored nowhere when its line does not know the call", async () => {
    const known = await registeredCall();
    const unknown = callSid();
    const logs = captureLogs();
    const res = await deliver(ended(retellCall({ metadata: { twilio_call_sid: unknown, twilio_line: known.line } })));
    expect(res.status).toBe(204);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "retell.event", retellEvent: "call_ended", callSid: unknown, result: "unknown_call" }));
    expect(await lineRecord(known.line, unknown)).toBeNull();
    // The line's next copy to D1 (carrying the known call's event) brings nothing of the unknown one.
    await deliver(ended(known.call));
    await recordOf(known.sid, (row) => row.retell_status === "ended");
    expect(await readCall(unknown)).toBeNull();
  });

  it.each([
    ["no metadata", () => undefined],
    ["a CallSid but no line", (sid: string) => ({ twilio_call_sid: sid })],
    ["a line but no CallSid", (_sid: string, line: string) => ({ twilio_line: line })],
  ])("is acknowledged and stores nothing when the metadata has %s", async (_name, metadata) => {
    const { sid, line, call, record } = await registeredCall();
    const res = await deliver(ended({ ...call, metadata: metadata(sid, line) }));
    expect(res.status).toBe(204);
    expect(await record()).toMatchObject({ retellStatus: null, retellEventAt: null });
  });

  it("leaves the record alone when it is about another registration of the same CallSid", async () => {
    const { call, record } = await registeredCall();
    const logs = captureLogs();
    const other = { ...call, call_id: "call_otherregistration" };
    const res = await deliver({ event: "call_ended", call: { ...other, call_status: "ended", disconnection_reason: "registered_call_timeout" } });
    expect(res.status).toBe(204);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "retell.event", result: "other_registration" }));
    expect(await record()).toMatchObject({ retellCallId: call.call_id, retellStatus: null, disconnectionReason: null });
  });

  it.each(["transcript_updated", "transfer_started", "chat_started", "call_inbound"])("acknowledges %s with 204 and ignores it", async (event) => {
    const { call, record } = await registeredCall();
    const logs = captureLogs();
    const res = await deliver({ event, call: { ...call, call_status: "ended" } });
    expect(res.status).toBe(204);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "retell.event_ignored", retellEvent: event }));
    expect(await record()).toMatchObject({ retellStatus: null, retellEventAt: null });
  });
});

describe("what the Retell route does without D1", () => {
  it.each([
    ["failing", () => failingDb],
    ["hanging", () => hangingDb().db],
  ])("answers 204 and stores the event in the line with D1 %s", async (_name, db) => {
    const { call, record } = await registeredCall();
    const res = await withBindings(await retellRequest(ended(call)), { DB: db() });
    expect(res.status).toBe(204);
    expect(await record()).toMatchObject({ retellStatus: "ended", disconnectionReason: "user_hangup" });
  });
});

describe("a Retell event the route refuses", () => {
  it.each([
    ["no x-retell-signature", async (_body: string) => null as string | null],
    ["a signature made with another key", (body: string) => symmetric.sign(body, "key_someone_else")],
    ["a signature more than 5 minutes old", (body: string) => symmetric.sign(body, TEST_RETELL_API_KEY, Date.now() - 6 * 60_000)],
    ["a malformed signature", async () => "not-a-signature"],
  ])("answers 401 to %s and stores nothing", async (_name, signature) => {
    const { call, record } = await registeredCall();
    const payload = ended(call);
    const res = await worker(await retellRequest(payload, { signature: await signature(JSON.stringify(payload)) }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthorized", message: "Unauthorized" });
    expect((await record())?.retellStatus).toBeNull();
  });

  it("answers 401 to a body changed after signing", async () => {
    const { call, record } = await registeredCall();
    const signed = await retellRequest(ended(call));
    const tampered = new Request(signed, { body: (await signed.text()).replace("user_hangup", "agent_hangup") });
    expect((await worker(tampered)).status).toBe(401);
    expect((await record())?.retellStatus).toBeNull();
  });

  it("answers 400 to a signed body that is not JSON", async () => {
    const body = "{not json";
    const res = await worker(
      new Request("https://bridge.example.com/api/webhooks/retell", {
        method: "POST",
        headers: { "x-retell-signature": await symmetric.sign(body, TEST_RETELL_API_KEY) },
        body,
      }),
    );
    expect(res.status).toBe(400);
  });

  it("answers 400 to a call event without a call id", async () => {
    expect((await deliver({ event: "call_ended", call: { call_status: "ended" } })).status).toBe(400);
  });

  it("answers 503 when the line's object fails, so that Retell sends it again, without its reason", async () => {
    const { call, record } = await registeredCall();
    const res = await withBindings(await retellRequest(ended(call)), { LINES: failingLines });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({ error: "storage_unavailable", message: expect.any(String) });
    expect(res.text).not.toContain("simulated");
    expect((await record())?.retellStatus).toBeNull();
  });

  it("answers 500 without verifying anything when RETELL_API_KEY is not set", async () => {
    const { call } = await registeredCall();
    const res = await withBindings(await retellRequest(ended(call)), { RETELL_API_KEY: "" });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain("RETELL_API_KEY");
  });
});
