/**
 * POST /api/webhooks/twilio/outbound (the placed call's `Url`) through the Worker's entry: registration with
 * Retell only once the callee answers, once per CallSid, the same SIP TwiML as inbound calls, and each
 * answering-machine outcome; status callbacks for unanswered calls register nothing.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import { retellRequests, setRetellBehaviour, sipUri, twilioRequest, worker } from "../helpers.ts";
import { actionPath, lineRecord, recordOf } from "../records.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "../secrets.ts";
import { answerRequest, callingNumber, placeCall, statusRequest, type PlacedCall } from "../outbound.ts";

const MACHINE_ANSWERS = ["machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"];
const VOICEMAIL = "Hi, this is Demo Dental reminding you of your appointment tomorrow at 10. Goodbye.";

async function answer(call: PlacedCall, extra: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await worker(answerRequest(call, extra));
  return { status: res.status, text: await res.text() };
}

describe("the callee answers", () => {
  it("registers the call with Retell as outbound, from our number to the callee, with the stored variables and metadata", async () => {
    const line = await callingNumber({ dynamicVariables: { business: "Demo Dental", first_name: "caller" }, metadata: { team: "front" } });
    const call = await placeCall({ dynamicVariables: { first_name: "Ada" }, metadata: { crm_id: "crm-1" } }, line);
    expect(await retellRequests(line.agentId)).toEqual([]);
    await answer(call);
    const requests = await retellRequests(line.agentId);
    expect(requests.map((r) => r.body)).toEqual([
      {
        agent_id: line.agentId,
        from_number: call.from,
        to_number: call.to,
        direction: "outbound",
        retell_llm_dynamic_variables: { business: "Demo Dental", first_name: "Ada" },
        metadata: { team: "front", crm_id: "crm-1", twilio_call_sid: call.callSid, twilio_line: call.from, twilio_account_sid: TEST_TWILIO_ACCOUNT_SID },
      },
    ]);
  });

  it("answers with SIP TwiML to the registered Retell call, with the dial-complete action for the agent", async () => {
    const call = await placeCall();
    const res = await answer(call);
    const [registration] = await retellRequests(call.agentId);
    expect(res.status).toBe(200);
    expect(sipUri(res.text)).toBe(`sip:${registration?.callId}@sip.retellai.com;transport=tcp`);
    expect(actionPath(res.text)).toBe(`/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(call.from)}&leg=retell&end=1`);
  });

  it("plays the agent's consent notice before the Dial, caps the AI leg with maxCallSeconds, and records the call as announced", async () => {
    const line = await callingNumber({ announce: { text: "This call is from an AI assistant & is recorded." }, maxCallSeconds: 300 });
    const call = await placeCall({}, line);
    const res = await answer(call);
    expect(res.text).toMatch(/<Response><Say>This call is from an AI assistant &amp; is recorded\.<\/Say><Dial [^>]*timeLimit="300"[^>]*><Sip>/);
    expect(await recordOf(call.callSid, (row) => row.outcome === "connected")).toMatchObject({ announced: 1 });
  });

  it("registers once when Twilio sends the webhook twice at the same time; both get the same TwiML", async () => {
    const call = await placeCall();
    const [a, b] = await Promise.all([answer(call), answer(call)]);
    expect(await retellRequests(call.agentId)).toHaveLength(1);
    expect(a.text).toBe(b.text);
  });

  it("dials the agent's fallback number when Retell cannot take the call, and records why", async () => {
    const line = await callingNumber({ fallbackNumber: "+14155550142" });
    await setRetellBehaviour(line.agentId, { status: 422 });
    const call = await placeCall({}, line);
    const res = await answer(call);
    expect(res.text).toContain("<Number>+14155550142</Number>");
    expect(await lineRecord(call.from, call.callSid)).toMatchObject({ outcome: "fallback_dialed", outcomeReason: "retell_rejected" });
  });

  it("records the answered call in the calling number's line: outbound, connected, with the Retell call", async () => {
    const call = await placeCall();
    await answer(call, { AnsweredBy: "human" });
    const [registration] = await retellRequests(call.agentId);
    const row = await recordOf(call.callSid, (r) => r.outcome === "connected");
    expect(row).toMatchObject({ direction: "outbound", answered_by: "human", from_number: call.from, to_number: call.to, retell_call_id: registration?.callId, agent_key: call.from });
  });

  it("hangs up and registers nothing for a reservation the line does not hold", async () => {
    const call = await placeCall();
    const forged = { ...call, answerPath: "/api/webhooks/twilio/outbound?reservation=00000000-0000-4000-8000-000000000000" };
    const res = await answer(forged);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(await retellRequests(call.agentId)).toEqual([]);
  });

  it("hangs up for a CallSid other than the one Twilio created for the reservation", async () => {
    const call = await placeCall();
    const res = await answer({ ...call, callSid: `CA${"e".repeat(32)}` });
    expect(res.text).toContain("<Hangup/>");
    expect(await retellRequests(call.agentId)).toEqual([]);
  });

  it("refuses a request Twilio did not sign with 403", async () => {
    const call = await placeCall();
    const res = await worker(twilioRequest(call.answerPath, { CallSid: call.callSid, From: call.from, To: call.to }, { token: "not-the-auth-token" }));
    expect(res.status).toBe(403);
  });
});

describe("answering machines", () => {
  it.each(MACHINE_ANSWERS)("detection hangup, AnsweredBy %s: <Hangup/>, no registration, recorded", async (answeredBy) => {
    const call = await placeCall({ machineDetection: "hangup" });
    const res = await answer(call, { AnsweredBy: answeredBy });
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(await retellRequests(call.agentId)).toEqual([]);
    expect(await lineRecord(call.from, call.callSid)).toMatchObject({ answeredBy, outcome: "machine_answered", outcomeReason: "machine_hangup", retellCallId: null });
  });

  it.each(MACHINE_ANSWERS)("detection message, AnsweredBy %s: the voicemail message then <Hangup/>, no registration", async (answeredBy) => {
    const call = await placeCall({ machineDetection: "message", voicemailMessage: VOICEMAIL });
    const res = await answer(call, { AnsweredBy: answeredBy });
    expect(res.text).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>${VOICEMAIL}</Say><Hangup/></Response>`);
    expect(await retellRequests(call.agentId)).toEqual([]);
    expect(await lineRecord(call.from, call.callSid)).toMatchObject({ answeredBy, outcome: "machine_answered", outcomeReason: "voicemail_left" });
  });

  it("escapes the voicemail message for XML", async () => {
    const call = await placeCall({ machineDetection: "message", voicemailMessage: `Tom & Jerry's <dentist>` });
    const res = await answer(call, { AnsweredBy: "machine_end_beep" });
    expect(res.text).toContain("<Say>Tom &amp; Jerry&apos;s &lt;dentist&gt;</Say>");
  });

  it.each(["human", "unknown"])("detection hangup, AnsweredBy %s: the agent takes the call", async (answeredBy) => {
    const call = await placeCall({ machineDetection: "hangup" });
    const res = await answer(call, { AnsweredBy: answeredBy });
    expect(sipUri(res.text)).not.toBeNull();
    expect(await retellRequests(call.agentId)).toHaveLength(1);
  });

  it.each(MACHINE_ANSWERS)("detection off, AnsweredBy %s: the agent takes the call, and who answered is recorded", async (answeredBy) => {
    const call = await placeCall({ machineDetection: "off" });
    const res = await answer(call, { AnsweredBy: answeredBy });
    expect(sipUri(res.text)).not.toBeNull();
    expect(await retellRequests(call.agentId)).toHaveLength(1);
    expect(await lineRecord(call.from, call.callSid)).toMatchObject({ answeredBy, outcome: "connected" });
  });
});

describe("calls never answered", () => {
  it.each([
    ["no-answer", "callee_no_answer"],
    ["busy", "callee_busy"],
    ["failed", "callee_failed"],
    ["canceled", "callee_canceled"],
  ])("a final %s registers nothing and is recorded as not answered (%s)", async (status, reason) => {
    const call = await placeCall();
    for (const [i, s] of ["initiated", "ringing", status].entries()) expect((await worker(statusRequest(call, s, i))).status).toBe(204);
    expect(await retellRequests(call.agentId)).toEqual([]);
    const row = await recordOf(call.callSid, (r) => r.twilio_status === status);
    expect(row).toMatchObject({ direction: "outbound", outcome: "not_answered", outcome_reason: reason, retell_call_id: null });
  });

  it("records a status callback that arrives before the CallSid was stored, by the reservation in its URL", async () => {
    const line = await callingNumber();
    const call = await placeCall({}, line);
    // As if Twilio's `initiated` had beaten POST /api/calls's answer: the line forgets the CallSid's binding.
    await runInDurableObject(lineStub(env, line.from), (_instance, state) => {
      state.storage.sql.exec("UPDATE outbound SET call_sid = NULL");
      state.storage.sql.exec("DELETE FROM calls");
    });
    expect((await worker(statusRequest(call, "initiated", 0))).status).toBe(204);
    expect(await lineRecord(call.from, call.callSid)).toMatchObject({ direction: "outbound", twilioStatus: "initiated", agentKey: call.from });
  });
});
