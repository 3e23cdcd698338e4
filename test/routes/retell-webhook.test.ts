/** POST /api/webhooks/retell: Retell's call events, signed with retell-sdk's own `sign`, joined to the call record. */
import { env } from "cloudflare:workers";
import { symmetric } from "retell-sdk/lib/webhook_auth";
import { describe, expect, it } from "vitest";
import { callSid, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { TEST_RETELL_API_KEY } from "../secrets.ts";
import { failingDb, readCall, recordOf, retellCall, retellRequest, withBindings } from "../records.ts";

const STARTED = Date.parse("2026-11-20T09:00:00Z");

/** A call answered by the voice webhook, with the Retell call the events are about. */
async function registeredCall(): Promise<{ sid: string; call: Record<string, unknown> }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId();
  await env.AGENTS.put(to, agentId);
  const params = voiceParams({ To: to });
  const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  const sid = params.CallSid as string;
  await recordOf(sid);
  const uri = sipUri(text) as string;
  const callId = uri.slice("sip:".length, uri.indexOf("@"));
  return { sid, call: retellCall({ call_id: callId, agent_id: agentId, to_number: to, metadata: { twilio_call_sid: sid } }) };
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

describe("a signed Retell event", () => {
  it("answers 204 with no body", async () => {
    const { call } = await registeredCall();
    const res = await deliver({ event: "call_started", call: { ...call, start_timestamp: STARTED } });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
  });

  it("call_started: stores the status and start time on the call's record", async () => {
    const { sid, call } = await registeredCall();
    await deliver({ event: "call_started", call: { ...call, start_timestamp: STARTED } });
    expect(await readCall(sid)).toMatchObject({ retell_status: "ongoing", retell_started_at: STARTED, retell_event_at: expect.any(Number), outcome: "connected" });
  });

  it("call_ended: stores the end, duration and disconnection reason", async () => {
    const { sid, call } = await registeredCall();
    await deliver(ended(call));
    expect(await readCall(sid)).toMatchObject({
      retell_status: "ended",
      retell_started_at: STARTED,
      retell_ended_at: STARTED + 95_000,
      retell_duration_ms: 95_000,
      disconnection_reason: "user_hangup",
    });
  });

  it("call_analyzed: stores the summary, sentiment and success flag", async () => {
    const { sid, call } = await registeredCall();
    await deliver(analyzed(call));
    expect(await readCall(sid)).toMatchObject({ call_summary: "The caller booked a table for two.", user_sentiment: "Positive", call_successful: 1 });
  });

  it("changes nothing when the same event arrives again", async () => {
    const { sid, call } = await registeredCall();
    await deliver(analyzed(call));
    const first = await readCall(sid);
    const res = await deliver(analyzed(call));
    expect(res.status).toBe(204);
    expect(await readCall(sid)).toEqual({ ...first, retell_event_at: expect.any(Number), updated_at: expect.any(Number) });
  });

  it("keeps ended and the analysis when a late call_started arrives after them", async () => {
    const { sid, call } = await registeredCall();
    await deliver(analyzed(call));
    await deliver({ event: "call_started", call: { ...call, call_status: "ongoing", start_timestamp: STARTED } });
    expect(await readCall(sid)).toMatchObject({ retell_status: "ended", retell_ended_at: STARTED + 95_000, call_summary: "The caller booked a table for two." });
  });

  it("joins by the Retell call id when the metadata has no CallSid", async () => {
    const { sid, call } = await registeredCall();
    await deliver(ended({ ...call, metadata: undefined }));
    expect(await readCall(sid)).toMatchObject({ retell_status: "ended" });
  });

  it("accepts the event name as event_type, as one Retell page shows it", async () => {
    const { sid, call } = await registeredCall();
    const { event, ...rest } = ended(call);
    await deliver({ event_type: event, ...rest });
    expect(await readCall(sid)).toMatchObject({ retell_status: "ended" });
  });

  it("creates the record of a bridge call whose voice record was never written", async () => {
    const sid = callSid();
    const call = retellCall({ metadata: { twilio_call_sid: sid } });
    await deliver(ended(call));
    expect(await readCall(sid)).toMatchObject({ retell_call_id: call.call_id, retell_agent_id: "agent_events", from_number: "+14155550100", retell_status: "ended", outcome: null });
  });

  it("is acknowledged and not stored when it is about a call this bridge did not answer", async () => {
    const call = retellCall();
    const res = await deliver(ended(call));
    expect(res.status).toBe(204);
    const row = await env.DB.prepare("SELECT call_sid FROM calls WHERE retell_call_id = ?").bind(call.call_id as string).first();
    expect(row).toBeNull();
  });

  it("leaves the record alone when it is about another registration of the same CallSid", async () => {
    const { sid, call } = await registeredCall();
    const other = { ...call, call_id: "call_otherregistration" };
    await deliver({ event: "call_ended", call: { ...other, call_status: "ended", disconnection_reason: "registered_call_timeout" } });
    expect(await readCall(sid)).toMatchObject({ retell_call_id: call.call_id, retell_status: null, disconnection_reason: null });
  });

  it.each(["transcript_updated", "transfer_started", "chat_started", "call_inbound"])("acknowledges %s with 204 and ignores it", async (event) => {
    const { sid, call } = await registeredCall();
    const res = await deliver({ event, call: { ...call, call_status: "ended" } });
    expect(res.status).toBe(204);
    expect(await readCall(sid)).toMatchObject({ retell_status: null, retell_event_at: null });
  });
});

describe("a Retell event the route refuses", () => {
  it.each([
    ["no x-retell-signature", async (body: string) => null as string | null],
    ["a signature made with another key", (body: string) => symmetric.sign(body, "key_someone_else")],
    ["a signature more than 5 minutes old", (body: string) => symmetric.sign(body, TEST_RETELL_API_KEY, Date.now() - 6 * 60_000)],
    ["a malformed signature", async () => "not-a-signature"],
  ])("answers 401 to %s and stores nothing", async (_name, signature) => {
    const { sid, call } = await registeredCall();
    const payload = ended(call);
    const res = await worker(await retellRequest(payload, { signature: await signature(JSON.stringify(payload)) }));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthorized", message: "Unauthorized" });
    expect((await readCall(sid))?.retell_status).toBeNull();
  });

  it("answers 401 to a body changed after signing", async () => {
    const { sid, call } = await registeredCall();
    const signed = await retellRequest(ended(call));
    const tampered = new Request(signed, { body: (await signed.text()).replace("user_hangup", "agent_hangup") });
    expect((await worker(tampered)).status).toBe(401);
    expect((await readCall(sid))?.retell_status).toBeNull();
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

  it("answers 503 when D1 fails, so that Retell sends it again", async () => {
    const { call } = await registeredCall();
    const res = await withBindings(await retellRequest(ended(call)), { DB: failingDb });
    expect(res.status).toBe(503);
    expect(res.text).not.toContain("simulated");
  });

  it("answers 500 without verifying anything when RETELL_API_KEY is not set", async () => {
    const { call } = await registeredCall();
    const res = await withBindings(await retellRequest(ended(call)), { RETELL_API_KEY: "" });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain("RETELL_API_KEY");
  });
});
