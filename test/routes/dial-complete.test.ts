/** POST /api/webhooks/twilio/dial-complete: the <Dial action> callback, from the action URL the voice webhook gave Twilio. */
import { DOMParser } from "@xmldom/xmldom";
import { afterEach, describe, expect, it, vi } from "vitest";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import type { CallRecord } from "../../src/records/list.ts";
import { callSid, ORIGIN, twilioRequest, worker } from "../helpers.ts";
import {
  actionPath,
  answeredCall,
  captureLogs,
  failingDb,
  failingLines,
  hangingDb,
  lineRecord,
  readCall,
  recordOf,
  withBindings,
  type AnsweredCall,
} from "../records.ts";

const FALLBACK = "+61390000009";

interface Answered extends AnsweredCall {
  action: string;
  /** The call's live record in its line. */
  record: () => Promise<CallRecord | null>;
}

/** A call answered by the voice webhook; `action` is the <Dial action> it gave Twilio. */
async function dialedCall(config: { fallbackNumber?: string } = { fallbackNumber: FALLBACK }): Promise<Answered> {
  const call = await answeredCall(config);
  return { ...call, action: actionPath(call.twiml), record: () => lineRecord(call.line, call.sid) };
}

/** What Twilio posts to the action URL when the dial ends (tw-dial, tw-sip). */
function dialResult(call: Answered, dial: Record<string, string>): Request {
  const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
  return twilioRequest(call.action, {
    AccountSid,
    CallSid,
    From,
    To,
    CallStatus: "in-progress",
    Direction: "inbound",
    DialCallSid: "CA" + "d".repeat(32),
    DialSipCallId: "d0947d@0.0.0.0",
    ...dial,
  });
}

function parse(text: string) {
  const doc = new DOMParser().parseFromString(text, "text/xml");
  return {
    number: doc.getElementsByTagName("Number")[0]?.textContent ?? null,
    action: doc.getElementsByTagName("Dial")[0]?.getAttribute("action") ?? null,
    say: doc.getElementsByTagName("Say")[0]?.textContent ?? null,
    hangup: doc.getElementsByTagName("Hangup").length,
    verbs: doc.documentElement?.childNodes.length ?? -1,
  };
}

const FAILURES = [
  ["failed with SIP 503", { DialCallStatus: "failed", DialSipResponseCode: "503" }, "dial_failed"],
  ["busy (SIP 486)", { DialCallStatus: "busy", DialSipResponseCode: "486" }, "dial_busy"],
  ["no-answer (SIP 408)", { DialCallStatus: "no-answer", DialSipResponseCode: "408" }, "dial_no_answer"],
  ["a SIP error code alone (404)", { DialSipResponseCode: "404" }, "dial_sip_404"],
] as const;

afterEach(() => vi.restoreAllMocks());

describe("when the SIP leg to Retell fails", () => {
  it.each(FAILURES)("dials the agent's fallback number when it %s", async (_name, dial) => {
    const call = await dialedCall();
    const res = await worker(dialResult(call, dial));
    const twiml = parse(await res.text());
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/xml; charset=utf-8");
    expect(twiml.number).toBe(FALLBACK);
    expect(twiml.action).toBe(ORIGIN + call.action.replace("leg=retell", "leg=fallback"));
  });

  it.each(FAILURES)("stores fallback_dialed and the reason in the call's line when it %s", async (_name, dial, reason) => {
    const call = await dialedCall();
    await (await worker(dialResult(call, dial))).text();
    expect(await call.record()).toMatchObject({ outcome: "fallback_dialed", outcomeReason: reason, dialSipCode: Number(dial.DialSipResponseCode) });
  });

  it.each(FAILURES)("apologises and hangs up when it %s and the agent has no fallback", async (_name, dial, reason) => {
    const call = await dialedCall({});
    const twiml = parse(await (await worker(dialResult(call, dial))).text());
    expect(twiml).toMatchObject({ number: null, say: APOLOGY_MESSAGE, hangup: 1 });
    expect(await call.record()).toMatchObject({ outcome: "sip_failed", outcomeReason: reason });
  });

  it("takes the fallback number from the agent's KV entry only, whatever the request carries", async () => {
    const call = await dialedCall();
    const twiml = parse(await (await worker(dialResult(call, { DialCallStatus: "failed", FallbackNumber: "+19005550000", Number: "+19005550000" }))).text());
    expect(twiml.number).toBe(FALLBACK);
  });

  it("refuses an action URL whose agent was changed after signing", async () => {
    const call = await dialedCall();
    const signed = dialResult(call, { DialCallStatus: "failed" });
    const tampered = new Request(signed.url.replace(/agent=[^&]+/, "agent=agent%3Aother"), signed);
    expect((await worker(tampered)).status).toBe(403);
  });

  it("apologises when the action URL names no agent", async () => {
    const call = await dialedCall();
    const twiml = parse(await (await worker(dialResult({ ...call, action: "/api/webhooks/twilio/dial-complete?leg=retell" }, { DialCallStatus: "failed" }))).text());
    expect(twiml).toMatchObject({ number: null, say: APOLOGY_MESSAGE });
  });

  it.each([
    ["failing", () => failingDb],
    ["hanging", () => hangingDb().db],
  ])("still dials the fallback and stores the dial in the line with D1 %s", async (_name, db) => {
    const call = await dialedCall();
    const res = await withBindings(dialResult(call, { DialCallStatus: "busy" }), { DB: db() });
    expect(parse(res.text).number).toBe(FALLBACK);
    expect(await call.record()).toMatchObject({ outcome: "fallback_dialed", outcomeReason: "dial_busy", dialStatus: "busy" });
  });

  it("still dials the fallback when the line's object fails, and logs that the dial went unrecorded", async () => {
    const call = await dialedCall();
    const logs = captureLogs();
    const res = await withBindings(dialResult(call, { DialCallStatus: "busy" }), { LINES: failingLines });
    expect(res.status).toBe(200);
    expect(parse(res.text).number).toBe(FALLBACK);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.dial_complete", callSid: call.sid, recorded: "line_unavailable" }));
    expect(await call.record()).toMatchObject({ outcome: "connected", dialStatus: null });
  });

  it("dials the fallback for a call its line does not know, and stores nothing", async () => {
    const call = await dialedCall();
    const unknown = callSid();
    const logs = captureLogs();
    const res = await worker(dialResult({ ...call, params: { ...call.params, CallSid: unknown } }, { DialCallStatus: "busy" }));
    expect(parse(await res.text()).number).toBe(FALLBACK);
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.dial_complete", callSid: unknown, recorded: "unknown_call" }));
    expect(await lineRecord(call.line, unknown)).toBeNull();
    // The line's next copy to D1 (carrying the known call's dial) brings nothing of the unknown one.
    await (await worker(dialResult(call, { DialCallStatus: "busy" }))).text();
    await recordOf(call.sid, (row) => row.dial_status === "busy");
    expect(await readCall(unknown)).toBeNull();
  });
});

describe("when the dial to Retell completed", () => {
  it.each([
    ["completed", { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "73", DialBridged: "true" }],
    ["canceled by the caller (SIP 487)", { DialCallStatus: "canceled", DialSipResponseCode: "487" }],
  ])("ends the call with an empty document when it was %s", async (_name, dial) => {
    const call = await dialedCall();
    const res = await worker(dialResult(call, dial));
    expect(res.status).toBe(200);
    expect(parse(await res.text()).verbs).toBe(0);
  });

  it("stores the dial's status and duration in the call's line and keeps the outcome connected", async () => {
    const call = await dialedCall();
    await (await worker(dialResult(call, { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "73" }))).text();
    expect(await call.record()).toMatchObject({
      outcome: "connected",
      dialStatus: "completed",
      dialSipCode: 200,
      dialDurationS: 73,
      dialEndedAt: expect.any(Number),
    });
  });

  it("reaches D1 with the call's answer soon after", async () => {
    const call = await dialedCall();
    await (await worker(dialResult(call, { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "73" }))).text();
    expect(await recordOf(call.sid, (row) => row.dial_status !== null)).toMatchObject({
      outcome: "connected",
      retell_agent_id: call.agentId,
      dial_status: "completed",
      dial_duration_s: 73,
    });
  });
});

describe("the fallback leg's result", () => {
  async function fallbackLeg(): Promise<Answered> {
    const call = await dialedCall();
    const text = await (await worker(dialResult(call, { DialCallStatus: "failed" }))).text();
    return { ...call, action: actionPath(text) };
  }

  it.each(["busy", "no-answer", "failed"])("apologises and hangs up when the fallback number is %s, never dialing again", async (status) => {
    const call = await fallbackLeg();
    const twiml = parse(await (await worker(dialResult(call, { DialCallStatus: status }))).text());
    expect(twiml).toMatchObject({ number: null, say: APOLOGY_MESSAGE, hangup: 1 });
  });

  it("ends the call when the fallback number answered, and records its status", async () => {
    const call = await fallbackLeg();
    const twiml = parse(await (await worker(dialResult(call, { DialCallStatus: "completed", DialCallDuration: "120" }))).text());
    expect(twiml.verbs).toBe(0);
    expect(await call.record()).toMatchObject({
      outcome: "fallback_dialed",
      outcomeReason: "dial_failed",
      dialStatus: "failed",
      fallbackStatus: "completed",
      fallbackEndedAt: expect.any(Number),
    });
  });
});
