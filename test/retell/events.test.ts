/** src/retell/events.ts: reading Retell's webhook bodies and checking their signature, without Hono. */
import { sign, symmetric } from "retell-sdk/lib/webhook_auth";
import { describe, expect, it } from "vitest";
import { isValidRetellSignature, readRetellEvent } from "../../src/retell/events.ts";

const KEY = "key_test_123";

describe("isValidRetellSignature", () => {
  it("accepts retell-sdk's own signature over the exact body", async () => {
    const body = '{"event":"call_ended","call":{"call_id":"call_abc"}}';
    expect(await isValidRetellSignature(body, KEY, await sign(body, KEY))).toBe(true);
  });

  it("accepts the protocol reference's vector (computed with node:crypto) while it is fresh", async () => {
    // twilio-retell-protocols.md §5.5: v=1700000000000 over this body with key_test_123.
    const signature = "v=1700000000000,d=93f32a1381c95b99d2e6d51118fb13f2101871180826d9a4c1608a7c36a84a52";
    const body = '{"event":"call_ended","call":{"call_id":"call_abc"}}';
    expect(await symmetric.verify(body, KEY, signature, { timestamp: 1700000000000 + 1000 })).toBe(true);
    expect(await isValidRetellSignature(body, KEY, signature)).toBe(false); // long expired
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["without a timestamp", "d=" + "0".repeat(64)],
  ])("refuses a signature that is %s", async (_name, signature) => {
    expect(await isValidRetellSignature("{}", KEY, signature)).toBe(false);
  });

  it("refuses the same body re-serialised with other whitespace", async () => {
    const body = '{"event":"call_ended","call":{"call_id":"call_abc"}}';
    const signature = await sign(body, KEY);
    expect(await isValidRetellSignature(JSON.stringify(JSON.parse(body), null, 2), KEY, signature)).toBe(false);
  });
});

describe("readRetellEvent", () => {
  const call = {
    call_id: "call_abc",
    agent_id: "agent_x",
    from_number: "+14155550100",
    to_number: "+61341517921",
    call_status: "ended",
    start_timestamp: 1_000,
    end_timestamp: 5_000,
    duration_ms: 4_000,
    disconnection_reason: "agent_hangup",
    metadata: { twilio_call_sid: "CA0123456789abcdef0123456789abcdef", twilio_line: "+61341517921", team: "front" },
    call_analysis: { call_summary: "Booked.", user_sentiment: "Neutral", call_successful: false },
  };

  it("reads what the record keeps from call_analyzed", () => {
    expect(readRetellEvent({ event: "call_analyzed", call })).toEqual({
      kind: "call",
      update: {
        event: "call_analyzed",
        callId: "call_abc",
        twilioCallSid: "CA0123456789abcdef0123456789abcdef",
        line: "+61341517921",
        retellAgentId: "agent_x",
        from: "+14155550100",
        to: "+61341517921",
        status: "ended",
        startedAt: 1_000,
        endedAt: 5_000,
        durationMs: 4_000,
        disconnectionReason: "agent_hangup",
        summary: "Booked.",
        sentiment: "Neutral",
        successful: false,
      },
    });
  });

  it.each([
    ["no twilio_line", { twilio_call_sid: "CAfeed" }, { twilioCallSid: "CAfeed" }],
    ["an empty twilio_line", { twilio_call_sid: "CAfeed", twilio_line: "" }, { twilioCallSid: "CAfeed" }],
    ["a twilio_line that is not a string", { twilio_call_sid: "CAfeed", twilio_line: 61341517921 }, { twilioCallSid: "CAfeed" }],
    ["a CallSid with spaces", { twilio_call_sid: "CA feed", twilio_line: "+61341517921" }, { line: "+61341517921" }],
    ["a CallSid that is a number", { twilio_call_sid: 42, twilio_line: "+61341517921" }, { line: "+61341517921" }],
  ])("reads only the well-formed part of metadata with %s", (_name, metadata, expected) => {
    const read = readRetellEvent({ event: "call_ended", call: { call_id: "call_abc", metadata } });
    expect(read).toEqual({ kind: "call", update: { event: "call_ended", callId: "call_abc", status: "ended", ...expected } });
  });

  it("bounds the line read from metadata to 64 characters", () => {
    const read = readRetellEvent({ event: "call_ended", call: { call_id: "call_abc", metadata: { twilio_line: "+6".padEnd(100, "1") } } });
    expect(read).toMatchObject({ kind: "call", update: { line: "+6".padEnd(64, "1") } });
  });

  it("falls back to the CallSid in telephony_identifier", () => {
    const read = readRetellEvent({ event: "call_ended", call: { call_id: "call_abc", telephony_identifier: { twilio_call_sid: "CAfeed" } } });
    expect(read).toMatchObject({ kind: "call", update: { twilioCallSid: "CAfeed" } });
  });

  it.each([
    ["call_started", "ongoing"],
    ["call_ended", "ended"],
  ])("assumes %s means %s when call_status is absent", (event, status) => {
    expect(readRetellEvent({ event, call: { call_id: "call_abc" } })).toMatchObject({ update: { status } });
  });

  it.each(["transcript_updated", "transfer_bridged", "chat_ended", "something_new"])("ignores %s", (event) => {
    expect(readRetellEvent({ event, call })).toEqual({ kind: "ignored", event });
  });

  it.each([
    ["not an object", [1, 2]],
    ["no event name", { call }],
    ["no call", { event: "call_ended" }],
    ["a call id that cannot be one", { event: "call_ended", call: { call_id: "call abc; DROP" } }],
  ])("calls a body with %s invalid", (_name, payload) => {
    expect(readRetellEvent(payload)).toMatchObject({ kind: "invalid" });
  });

  it("drops values of the wrong type instead of storing them", () => {
    const read = readRetellEvent({ event: "call_ended", call: { call_id: "call_abc", start_timestamp: "yesterday", call_analysis: { call_successful: "yes" } } });
    expect(read).toEqual({ kind: "call", update: { event: "call_ended", callId: "call_abc", status: "ended" } });
  });
});
