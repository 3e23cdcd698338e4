/**
 * POST /api/webhooks/twilio/transfer-complete: the transfer's <Dial action>. Answered: the call ends. Nobody
 * answered: back to the AI on a new Retell call told which destination failed. Also the interrupted AI leg's
 * dial-complete, which must neither end the call nor change its outcome.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lineName, lineStub } from "../../src/line/address.ts";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { MAX_TRANSFERS_PER_CALL } from "../../src/line/transitions.ts";
import { ORIGIN, retellRequests, setRetellBehaviour, sipUri, twilioRequest, voiceParams, worker } from "../helpers.ts";
import type { CallRecord } from "../../src/records/list.ts";
import { actionPath, adminRequest, captureLogs, recordOf, retellRequest } from "../records.ts";
import { callUpdates, parseTwiml, SALES, transfer, transferCall, transferResult, TRANSFERS, type TransferCall } from "../transfers.ts";

const FALLBACK = "+61390000009";

afterEach(() => vi.restoreAllMocks());

/** A call the agent transferred to sales; `action` is the transfer's <Dial action>. */
async function transferred(config: Record<string, unknown> = { transfers: TRANSFERS }, extra: Record<string, string> = {}): Promise<TransferCall & { action: string }> {
  const call = await transferCall(config, extra);
  const { body } = await transfer(call, { destination: "sales" });
  if (!body.ok) throw new Error(`transfer refused: ${body.message}`);
  const [update] = await callUpdates(call.sid);
  const action = parseTwiml(update!.form.Twiml![0]!).dial?.action ?? "";
  return { ...call, action };
}

async function complete(call: TransferCall & { action: string }, dial: Record<string, string>) {
  const res = await worker(transferResult(call, call.action, dial));
  const text = await res.text();
  return { status: res.status, text, twiml: parseTwiml(text) };
}

/** The registrations the Retell stand-in received for the call's agent, oldest first. */
async function registrations(call: TransferCall) {
  return (await retellRequests(call.agentId)).filter((r) => r.path === "/v2/register-phone-call" && r.callId);
}

describe("when the person answered", () => {
  it("ends the call with <Hangup/>", async () => {
    const call = await transferred();
    const { status, twiml } = await complete(call, { DialCallStatus: "completed", DialCallDuration: "184", DialBridged: "true" });
    expect(status).toBe(200);
    expect(twiml).toMatchObject({ hangup: 1, verbs: 1, dial: null });
  });

  it("records Twilio's DialCallStatus and duration on the attempt, and registers nothing", async () => {
    const call = await transferred();
    await complete(call, { DialCallStatus: "completed", DialCallDuration: "184" });
    expect((await call.record())?.transfers).toEqual([expect.objectContaining({ destination: "sales", dialStatus: "completed", dialDurationS: 184, dialEndedAt: expect.any(Number), returnRetellCallId: null })]);
    expect(await registrations(call)).toHaveLength(1);
  });

  it("reaches D1 as the transfers column", async () => {
    const call = await transferred();
    await complete(call, { DialCallStatus: "completed", DialCallDuration: "184" });
    const row = await recordOf(call.sid, (r) => typeof r.transfers === "string" && (r.transfers as string).includes("completed"));
    expect(JSON.parse(row.transfers as string)).toEqual([expect.objectContaining({ destination: "sales", dialStatus: "completed", dialDurationS: 184 })]);
  });
});

describe("the call's record through GET /api/calls", () => {
  it("lists each transfer attempt with its destination, status, duration and AI legs", async () => {
    const call = await transferred();
    await complete(call, { DialCallStatus: "busy" });
    const back = (await registrations(call))[1]?.callId;
    await recordOf(call.sid, (r) => typeof r.transfers === "string" && (r.transfers as string).includes("busy") && (r.transfers as string).includes(String(back)));
    const res = await worker(adminRequest(`/api/calls?agent=${encodeURIComponent(call.agentId)}`));
    const { calls } = (await res.json()) as { calls: CallRecord[] };
    expect(calls[0]?.transfers).toEqual([
      expect.objectContaining({ destination: "sales", requestedAt: expect.any(Number), dialStatus: "busy", dialDurationS: null, retellCallId: call.retellCallId, returnRetellCallId: back }),
    ]);
  });
});

describe.each(["busy", "no-answer", "failed", "canceled"])("when the person's dial ended %s", (status) => {
  it("registers a new Retell call for the same agent with transfer_failed set to the destination's name", async () => {
    const call = await transferred();
    await complete(call, { DialCallStatus: status });
    const [first, back] = await registrations(call);
    expect(back?.body).toMatchObject({
      agent_id: call.agentId,
      direction: "inbound",
      retell_llm_dynamic_variables: { transfer_failed: "sales", caller_number: call.params.From, called_number: call.line },
      metadata: { twilio_call_sid: call.sid, twilio_line: call.line },
    });
    expect(back?.callId).not.toBe(first?.callId);
  });

  it("registers the way back exactly as the first registration, the caller's SHAKEN/STIR result included, plus transfer_failed", async () => {
    const call = await transferred({ transfers: TRANSFERS, dynamicVariables: { business: "Demo Dental" }, metadata: { team: "front" } }, { StirVerstat: "TN-Validation-Passed-A" });
    await complete(call, { DialCallStatus: status });
    const [first, back] = await registrations(call);
    const firstBody = first?.body as Record<string, Record<string, unknown>>;
    expect(firstBody.retell_llm_dynamic_variables).toMatchObject({ caller_verification: "passed-A", business: "Demo Dental" });
    expect(back?.body).toEqual({ ...firstBody, retell_llm_dynamic_variables: { ...firstBody.retell_llm_dynamic_variables, transfer_failed: "sales" } });
  });

  it("answers SIP TwiML to the new Retell call with the usual <Dial action>", async () => {
    const call = await transferred();
    const { text } = await complete(call, { DialCallStatus: status });
    const back = (await registrations(call))[1];
    expect(sipUri(text)).toBe(`sip:${back?.callId}@sip.retellai.com;transport=tcp`);
    expect(ORIGIN + actionPath(text)).toBe(`${ORIGIN}/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(call.line)}&leg=retell&end=1`);
  });

  it("records the status and the new AI leg, which becomes the call's Retell call", async () => {
    const call = await transferred();
    await complete(call, { DialCallStatus: status });
    const back = (await registrations(call))[1];
    const record = await call.record();
    expect(record?.retellCallId).toBe(back?.callId);
    expect(record?.outcome).toBe("connected");
    expect(record?.transfers).toEqual([expect.objectContaining({ retellCallId: call.retellCallId, dialStatus: status, returnRetellCallId: back?.callId, returnError: null })]);
  });
});

describe("back with the AI", () => {
  async function returned() {
    const call = await transferred();
    await complete(call, { DialCallStatus: "no-answer" });
    const back = (await registrations(call))[1]?.callId as string;
    return { call, back };
  }

  it("answers a repeat of transfer-complete with the same SIP leg and no second registration", async () => {
    const { call, back } = await returned();
    const again = await complete(call, { DialCallStatus: "no-answer" });
    expect(sipUri(again.text)).toBe(`sip:${back}@sip.retellai.com;transport=tcp`);
    expect(await registrations(call)).toHaveLength(2);
  });

  it("records the new leg's Retell events", async () => {
    const { call, back } = await returned();
    await worker(await retellRequest({ event: "call_started", call: { ...call.retell, call_id: back, start_timestamp: 1_790_000_000_000 } }));
    expect(await call.record()).toMatchObject({ retellCallId: back, retellStatus: "ongoing", retellStartedAt: 1_790_000_000_000 });
  });

  it("acknowledges a late event of the earlier AI leg without storing it", async () => {
    const { call, back } = await returned();
    await worker(await retellRequest({ event: "call_started", call: { ...call.retell, call_id: back } }));
    const res = await worker(await retellRequest({ event: "call_ended", call: { ...call.retell, call_status: "ended", disconnection_reason: "call_transfer" } }));
    expect(res.status).toBe(204);
    expect(await call.record()).toMatchObject({ retellCallId: back, retellStatus: "ongoing", disconnectionReason: null });
  });

  it("refuses a transfer asked for by the earlier AI leg, and takes one from the new leg", async () => {
    const { call, back } = await returned();
    const old = await transfer(call, { destination: "support" });
    expect(old.body).toEqual({ ok: false, message: "This call is no longer connected to you, so it cannot be transferred." });
    const fresh = await transfer(call, { destination: "support" }, { retellCallId: back });
    expect(fresh.body.ok).toBe(true);
    const updates = await callUpdates(call.sid);
    expect(updates).toHaveLength(2);
    expect(parseTwiml(updates[1]!.form.Twiml![0]!).dial?.action).toBe(`${ORIGIN}/api/webhooks/twilio/transfer-complete?attempt=1&end=1`);
  });

  it(`refuses a transfer after ${MAX_TRANSFERS_PER_CALL} transfers nobody answered`, async () => {
    const call = await transferCall();
    let leg = call.retellCallId;
    for (let i = 0; i < MAX_TRANSFERS_PER_CALL; i++) {
      await transfer(call, { destination: "sales" }, { retellCallId: leg });
      const action = parseTwiml((await callUpdates(call.sid))[i]!.form.Twiml![0]!).dial?.action ?? "";
      await complete({ ...call, action }, { DialCallStatus: "busy" });
      leg = (await call.record())?.retellCallId as string;
    }
    const { body } = await transfer(call, { destination: "sales" }, { retellCallId: leg });
    expect(body.message).toMatch(/already been transferred 3 times/);
    expect(await callUpdates(call.sid)).toHaveLength(MAX_TRANSFERS_PER_CALL);
  });
});

describe("when the way back to the AI cannot be registered", () => {
  it("dials the agent's fallback number", async () => {
    const call = await transferred({ transfers: TRANSFERS, fallbackNumber: FALLBACK });
    await setRetellBehaviour(call.agentId, { status: 422 });
    const { twiml } = await complete(call, { DialCallStatus: "busy" });
    expect(twiml.noun).toMatchObject({ name: "Number", target: FALLBACK });
    expect(twiml.dial?.action).toBe(`${ORIGIN}/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(call.line)}&leg=fallback&end=1`);
    expect((await call.record())?.transfers).toEqual([expect.objectContaining({ returnRetellCallId: null, returnError: "retell_rejected" })]);
  });

  it("apologises and hangs up when the agent has no fallback number", async () => {
    const call = await transferred();
    await setRetellBehaviour(call.agentId, { status: 422 });
    const { twiml } = await complete(call, { DialCallStatus: "busy" });
    expect(twiml).toMatchObject({ say: APOLOGY_MESSAGE, hangup: 1, dial: null });
  });
});

describe("the request itself", () => {
  it("is refused with 403 when Twilio did not sign it", async () => {
    const call = await transferred();
    const { CallSid = "" } = call.params;
    const res = await worker(twilioRequest(call.action.slice(ORIGIN.length), { CallSid, DialCallStatus: "busy" }, { token: "not-the-token" }));
    expect(res.status).toBe(403);
  });

  it("is refused with 403 when its attempt was changed after signing", async () => {
    const call = await transferred();
    const signed = transferResult(call, call.action, { DialCallStatus: "busy" });
    expect((await worker(new Request(signed.url.replace("attempt=0", "attempt=1"), signed))).status).toBe(403);
  });

  it("apologises for an attempt the call does not have, and registers nothing", async () => {
    const call = await transferred();
    const { twiml } = await complete({ ...call, action: call.action.replace("attempt=0", "attempt=5") }, { DialCallStatus: "busy" });
    expect(twiml).toMatchObject({ say: APOLOGY_MESSAGE, hangup: 1 });
    expect(await registrations(call)).toHaveLength(1);
  });

  it("logs the attempt's end with the CallSid and what came next", async () => {
    const call = await transferred();
    const logs = captureLogs();
    await complete(call, { DialCallStatus: "no-answer" });
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.transfer_complete", callSid: call.sid, attempt: 0, dialStatus: "no-answer", next: "return" }));
  });
});

describe("the interrupted AI leg's dial-complete while a transfer is under way", () => {
  /** What Twilio posts to the AI leg's <Dial action> after the redirect (vendor facts §A: DialCallStatus=completed). */
  function interruptedDial(call: TransferCall, dial: Record<string, string>) {
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    return twilioRequest(actionPath(call.twiml), { AccountSid, CallSid, From, To, CallStatus: "in-progress", Direction: "inbound", DialCallSid: "CA" + "d".repeat(32), ...dial });
  }

  it.each([
    ["completed", { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "41" }],
    ["failed", { DialCallStatus: "failed", DialSipResponseCode: "503" }],
  ])("answers the transfer's own dial, never ending the call, when it reports %s", async (_name, dial) => {
    const call = await transferred({ transfers: TRANSFERS, fallbackNumber: FALLBACK });
    const twiml = parseTwiml(await (await worker(interruptedDial(call, dial))).text());
    expect(twiml.noun).toMatchObject({ name: "Number", target: SALES });
    expect(twiml.dial?.action).toBe(call.action);
    expect(twiml.hangup).toBe(0);
  });

  it.each([
    ["completed", { DialCallStatus: "completed", DialSipResponseCode: "200", DialCallDuration: "41" }],
    ["failed", { DialCallStatus: "failed", DialSipResponseCode: "503" }],
  ])("keeps the call's outcome when it reports %s", async (_name, dial) => {
    const call = await transferred({ transfers: TRANSFERS, fallbackNumber: FALLBACK });
    await (await worker(interruptedDial(call, dial))).text();
    expect(await call.record()).toMatchObject({ outcome: "connected", outcomeReason: null, transfers: [expect.objectContaining({ update: "accepted", dialStatus: null })] });
  });

  it("is an ordinary dial-complete again once the caller is back with the AI", async () => {
    const call = await transferred({ transfers: TRANSFERS, fallbackNumber: FALLBACK });
    const back = await complete(call, { DialCallStatus: "no-answer" });
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    const res = await worker(twilioRequest(actionPath(back.text), { AccountSid, CallSid, From, To, Direction: "inbound", DialCallStatus: "failed", DialSipResponseCode: "503" }));
    expect(parseTwiml(await res.text()).noun).toMatchObject({ name: "Number", target: FALLBACK });
  });
});

describe("the way back and the line's maxConcurrentCalls", () => {
  /** The AI leg's dial as Twilio reports it once the transfer's redirect ended it: the call's place is given back. */
  async function aiLegEnded(call: TransferCall): Promise<void> {
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    const res = await worker(twilioRequest(actionPath(call.twiml), { AccountSid, CallSid, From, To, CallStatus: "in-progress", Direction: "inbound", DialCallStatus: "completed", DialCallDuration: "41" }));
    expect(res.status).toBe(200);
  }

  async function newCaller(call: TransferCall): Promise<string> {
    return (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: call.line })))).text();
  }

  it("takes a place for the way back, so the next caller is held, and gives it to them when that leg's dial ends", async () => {
    const call = await transferred({ transfers: TRANSFERS, maxConcurrentCalls: 1 });
    const line = lineStub(env, lineName(call.line));
    await aiLegEnded(call);
    expect(await line.capacity()).toMatchObject({ connected: 0 });
    const back = await complete(call, { DialCallStatus: "no-answer" });
    expect(sipUri(back.text)).toMatch(/^sip:call_/);
    expect(await line.capacity()).toMatchObject({ connected: 1 });
    expect(await newCaller(call)).toContain("<Enqueue");
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    await worker(twilioRequest(actionPath(back.text), { AccountSid, CallSid, From, To, CallStatus: "in-progress", Direction: "inbound", DialCallStatus: "completed", DialCallDuration: "20" }));
    expect(await line.capacity()).toMatchObject({ connected: 1, waiting: [] });
  });

  it("sends the caller to the fallback number when another caller took the place meanwhile, registering nothing", async () => {
    const call = await transferred({ transfers: TRANSFERS, maxConcurrentCalls: 1, fallbackNumber: FALLBACK });
    await aiLegEnded(call);
    expect(sipUri(await newCaller(call))).toMatch(/^sip:call_/);
    const before = (await registrations(call)).length;
    const { twiml } = await complete(call, { DialCallStatus: "busy" });
    expect(twiml.noun).toMatchObject({ name: "Number", target: FALLBACK });
    expect(await registrations(call)).toHaveLength(before);
    expect((await call.record())?.transfers).toEqual([expect.objectContaining({ returnRetellCallId: null, returnError: "line_full" })]);
  });
});
