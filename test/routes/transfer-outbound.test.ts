/**
 * Transfers on an outbound call (POST /api/calls): the person is shown our number (the callee's would be refused
 * by Twilio), and when nobody answers, the callee goes back to the AI registered exactly as the call's first
 * registration was: outbound, from our number to the callee, with the call's variables and metadata.
 */
import { describe, expect, it } from "vitest";
import { retellRequests, sipUri, twilioRequest, worker } from "../helpers.ts";
import { answerRequest, callingNumber, placeCall, type PlacedCall } from "../outbound.ts";
import { lineRecord } from "../records.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "../secrets.ts";
import { callUpdates, ourPath, parseTwiml, SALES, TRANSFERS, transfer, type TransferCall } from "../transfers.ts";

/** The registrations the Retell stand-in received for the agent, oldest first. */
async function registrations(agentId: string) {
  return (await retellRequests(agentId)).filter((r) => r.path === "/v2/register-phone-call" && r.callId);
}

/** An outbound call the callee answered, placed with its own variables and metadata, its agent transferring to sales. */
async function answeredOutbound(): Promise<{ call: PlacedCall; transferCall: TransferCall }> {
  const line = await callingNumber({ transfers: TRANSFERS, dynamicVariables: { business: "Demo Dental", first_name: "caller" }, metadata: { team: "front" } });
  const call = await placeCall({ dynamicVariables: { first_name: "Ada" }, metadata: { crm_id: "crm-1" } }, line);
  const res = await worker(answerRequest(call));
  expect(sipUri(await res.text())).not.toBeNull();
  const [first] = await registrations(call.agentId);
  if (!first?.callId) throw new Error("the stand-in registered no call");
  const { metadata } = first.body as { metadata: Record<string, unknown> };
  const retell = { call_id: first.callId, call_type: "phone_call", agent_id: call.agentId, call_status: "ongoing", direction: "outbound", metadata };
  const transferCall: TransferCall = {
    sid: call.callSid,
    line: call.from,
    agentId: call.agentId,
    params: { CallSid: call.callSid, AccountSid: TEST_TWILIO_ACCOUNT_SID, From: call.from, To: call.to },
    twiml: "",
    retellCallId: first.callId,
    retell,
    record: () => lineRecord(call.from, call.callSid),
  };
  return { call, transferCall };
}

/** The transfer to sales, made; returns the update's `<Dial>` attributes. */
async function transferToSales(t: TransferCall): Promise<Record<string, string>> {
  const { body } = await transfer(t, { destination: "sales" });
  expect(body.ok).toBe(true);
  const [update] = await callUpdates(t.sid);
  return parseTwiml(update!.form.Twiml![0]!).dial ?? {};
}

/** Twilio's request to the transfer's `<Dial action>` on an outbound call (Direction outbound-api: From is ours). */
function transferResult(call: PlacedCall, action: string, dial: Record<string, string>): Request {
  return twilioRequest(ourPath(action), {
    AccountSid: TEST_TWILIO_ACCOUNT_SID,
    CallSid: call.callSid,
    From: call.from,
    To: call.to,
    CallStatus: "in-progress",
    Direction: "outbound-api",
    DialCallSid: "CA" + "e".repeat(32),
    ...dial,
  });
}

describe("a transfer on an outbound call", () => {
  it("shows our calling number to the person, never the callee's", async () => {
    const { call, transferCall } = await answeredOutbound();
    const dial = await transferToSales(transferCall);
    expect(dial.callerId).toBe(call.from);
    expect(dial.callerId).not.toBe(call.to);
  });

  it("dials the agent's destination", async () => {
    const { transferCall } = await answeredOutbound();
    await transferToSales(transferCall);
    const [update] = await callUpdates(transferCall.sid);
    expect(parseTwiml(update!.form.Twiml![0]!).noun).toMatchObject({ name: "Number", target: SALES });
  });
});

describe.each(["busy", "no-answer", "failed", "canceled"])("when nobody answered an outbound call's transfer (%s)", (status) => {
  it("registers the way back with the first registration's direction, numbers, variables and metadata, plus transfer_failed", async () => {
    const { call, transferCall } = await answeredOutbound();
    const dial = await transferToSales(transferCall);
    const res = await worker(transferResult(call, dial.action ?? "", { DialCallStatus: status }));
    expect(res.status).toBe(200);
    const [first, back] = await registrations(call.agentId);
    const firstBody = first?.body as Record<string, Record<string, unknown>>;
    expect(back?.body).toEqual({
      ...firstBody,
      retell_llm_dynamic_variables: { ...firstBody.retell_llm_dynamic_variables, transfer_failed: "sales" },
    });
    expect(back?.body).toMatchObject({ direction: "outbound", from_number: call.from, to_number: call.to, metadata: { crm_id: "crm-1", team: "front" } });
    expect(sipUri(await res.text())).toBe(`sip:${back?.callId}@sip.retellai.com;transport=tcp`);
  });
});
