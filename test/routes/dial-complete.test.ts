/** POST /api/webhooks/twilio/dial-complete: the <Dial action> callback, from the action URL the voice webhook gave Twilio. */
import { env } from "cloudflare:workers";
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { ORIGIN, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { actionPath, failingDb, recordOf, withBindings } from "../records.ts";

const FALLBACK = "+61390000009";

interface Answered {
  params: Record<string, string>;
  action: string;
}

/** A call answered by the voice webhook; `action` is the <Dial action> it gave Twilio. */
async function answeredCall(config: { fallbackNumber?: string } = { fallbackNumber: FALLBACK }): Promise<Answered> {
  const to = uniqueNumber();
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: uniqueAgentId(), ...config }));
  const params = voiceParams({ To: to });
  const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  await recordOf(params.CallSid as string);
  return { params, action: actionPath(text) };
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

describe("when the SIP leg to Retell fails", () => {
  it.each(FAILURES)("dials the agent's fallback number when it %s", async (_name, dial) => {
    const call = await answeredCall();
    const res = await worker(dialResult(call, dial));
    const twiml = parse(await res.text());
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/xml; charset=utf-8");
    expect(twiml.number).toBe(FALLBACK);
    expect(twiml.action).toBe(ORIGIN + call.action.replace("leg=retell", "leg=fallback"));
  });

  it.each(FAILURES)("records fallback_dialed and the reason when it %s", async (_name, dial, reason) => {
    const call = await answeredCall();
    await (await worker(dialResult(call, dial))).text();
    const row = await recordOf(call.params.CallSid as string, (r) => r.dial_status !== null || r.dial_sip_code !== null);
    expect(row).toMatchObject({ outcome: "fallback_dialed", outcome_reason: reason, dial_sip_code: Number(dial.DialSipResponseCode) });
  });

  it.each(FAILURES)("apologises and hangs up when it %s and the agent has no fallback", async (_name, dial, reason) => {
    const call = await answeredCall({});
    const twiml = parse(await (await worker(dialResult(call, dial))).text());
    expect(twiml).toMatchObject({ number: null, say: APOLOGY_MESSAGE, hangup: 1 });
    expect(await recordOf(call.params.CallSid as string, (r) => r.outcome === "sip_failed")).toMatchObject({ outcome_reason: reason });
  });

  it("takes the fallback number from the agent's KV entry only, whatever the request carries", async () => {
    const call = await answeredCall();
    const twiml = parse(await (await worker(dialResult(call, { DialCallStatus: "failed", fallbackNumber: "+19005550000", Number: "+19005550000" }))).text());
    expect(twiml.number).toBe(FALLBACK);
  });

  it("refuses an action URL whose agent was changed after signing", async () => {
    const call = await answeredCall();
    const signed = dialResult(call, { DialCallStatus: "failed" });
    const tampered = new Request(signed.url.replace(/agent=[^&]+/, "agent=agent%3Aother"), signed);
    expect((await worker(tampered)).status).toBe(403);
  });

  it("apologises when the action URL names no agent", async () => {
    const call = await answeredCall();
    const twiml = parse(await (await worker(dialResult({ ...call, action: "/api/webhooks/twilio/dial-complete?leg=retell" }, { DialCallStatus: "failed" }))).text());
    expect(twiml).toMatchObject({ number: null, say: APOLOGY_MESSAGE });
  });

  it("still dials the fallback when D1 fails", async () => {
    const call = await answeredCall();
    const res = await withBindings(dialResult(call, { DialCallStatus: "busy" }), { DB: failingDb });
    expect(parse(res.text).number).toBe(FALLBACK);
  });
});

describe("when the dial to Retell completed", () => {
  it.each([
    ["completed", { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "73", DialBridged: "true" }],
    ["canceled by the caller (SIP 487)", { DialCallStatus: "canceled", DialSipResponseCode: "487" }],
  ])("ends the call with an empty document when it was %s", async (_name, dial) => {
    const call = await answeredCall();
    const res = await worker(dialResult(call, dial));
    expect(res.status).toBe(200);
    expect(parse(await res.text()).verbs).toBe(0);
  });

  it("records the dial's status and duration and keeps the outcome connected", async () => {
    const call = await answeredCall();
    await (await worker(dialResult(call, { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "73" }))).text();
    expect(await recordOf(call.params.CallSid as string, (r) => r.dial_status !== null)).toMatchObject({
      outcome: "connected",
      dial_status: "completed",
      dial_sip_code: 200,
      dial_duration_s: 73,
      dial_ended_at: expect.any(Number),
    });
  });
});

describe("the fallback leg's result", () => {
  async function fallbackLeg(): Promise<Answered> {
    const call = await answeredCall();
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
    expect(await recordOf(call.params.CallSid as string, (r) => r.fallback_status !== null)).toMatchObject({
      outcome: "fallback_dialed",
      outcome_reason: "dial_failed",
      fallback_status: "completed",
    });
  });
});
