/**
 * The loop guard at run time: a fallback number or a transfer destination that is one of the bridge's own numbers
 * (a number with a mapping in KV) is never dialed. The fallback is skipped (the agent's voicemail, else the
 * apology); the transfer is refused with a sentence for the model; the log shows the number masked.
 * (An outbound call's `to`: test/routes/calls-permission.test.ts, "the destination".)
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { setRetellBehaviour, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { actionPath, answeredCall, captureLogs, lineRecord } from "../records.ts";
import { callUpdates, parseTwiml, transfer, transferCall, transferResult, TRANSFERS } from "../transfers.ts";

afterEach(() => vi.restoreAllMocks());

const GREETING = "Please leave a message after the tone.";

/** A number of the bridge's own: another line, mapped to an agent. */
async function ownNumber(): Promise<string> {
  const number = uniqueNumber();
  await env.AGENTS.put(number, uniqueAgentId("own"));
  return number;
}

/** A voice webhook for a fresh line whose agent Retell refuses (422), so the call goes where a failed registration goes. */
async function failedCall(config: Record<string, unknown>): Promise<{ twiml: string; line: string; sid: string }> {
  const line = uniqueNumber();
  const agentId = uniqueAgentId();
  await env.AGENTS.put(line, JSON.stringify({ retellAgentId: agentId, ...config }));
  await setRetellBehaviour(agentId, { status: 422 });
  const params = voiceParams({ To: line });
  const twiml = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  return { twiml, line, sid: params.CallSid ?? "" };
}

/** Every log line's text, to check that no full number was written. */
const logged = (logs: () => Record<string, unknown>[]) => logs().map((l) => JSON.stringify(l)).join("\n");

describe("a fallback number that is one of the bridge's own numbers", () => {
  it("is not dialed when Retell cannot take the call: the apology instead", async () => {
    const fallbackNumber = await ownNumber();
    const { twiml, line, sid } = await failedCall({ fallbackNumber });
    expect(parseTwiml(twiml)).toMatchObject({ noun: null, say: APOLOGY_MESSAGE, hangup: 1 });
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "retell_failed" });
  });

  it("is not dialed when Retell cannot take the call: the agent's voicemail instead, when it has one", async () => {
    const fallbackNumber = await ownNumber();
    const { twiml } = await failedCall({ fallbackNumber, voicemail: { greeting: GREETING, maxSeconds: 60 } });
    expect(twiml).toContain("<Record");
    expect(twiml).not.toContain(fallbackNumber);
  });

  it("is still dialed when it is not one of ours", async () => {
    const fallbackNumber = uniqueNumber();
    const { twiml } = await failedCall({ fallbackNumber });
    expect(parseTwiml(twiml).noun).toMatchObject({ name: "Number", target: fallbackNumber });
  });

  it("is logged with the number masked", async () => {
    const logs = captureLogs();
    const fallbackNumber = await ownNumber();
    await failedCall({ fallbackNumber });
    const line = logs().find((l) => l.event === "loop_guard.fallback_skipped");
    expect(line).toMatchObject({ field: "fallbackNumber", reason: "own_number", fallback: `+${"*".repeat(fallbackNumber.length - 5)}${fallbackNumber.slice(-4)}` });
    expect(logged(logs)).not.toContain(fallbackNumber.slice(1));
  });

  it("is not dialed when the AI leg's dial fails (dial-complete)", async () => {
    const fallbackNumber = await ownNumber();
    const call = await answeredCall({ fallbackNumber });
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    const res = await worker(twilioRequest(actionPath(call.twiml), { AccountSid, CallSid, From, To, CallStatus: "in-progress", Direction: "inbound", DialCallStatus: "failed", DialSipResponseCode: "503" }));
    expect(parseTwiml(await res.text())).toMatchObject({ noun: null, say: APOLOGY_MESSAGE, hangup: 1 });
    expect(await lineRecord(call.line, call.sid)).toMatchObject({ outcome: "sip_failed" });
  });

  it("is not dialed when the way back from an unanswered transfer fails", async () => {
    const fallbackNumber = await ownNumber();
    const call = await transferCall({ transfers: TRANSFERS, fallbackNumber });
    expect((await transfer(call, { destination: "sales" })).body.ok).toBe(true);
    const action = parseTwiml((await callUpdates(call.sid))[0]!.form.Twiml![0]!).dial?.action ?? "";
    await setRetellBehaviour(call.agentId, { status: 422 });
    const res = await worker(transferResult(call, action, { DialCallStatus: "busy" }));
    expect(parseTwiml(await res.text())).toMatchObject({ noun: null, say: APOLOGY_MESSAGE, hangup: 1 });
  });
});

describe("a transfer destination that is one of the bridge's own numbers", () => {
  it("is refused with a sentence for the model, and Twilio is never asked", async () => {
    const own = await ownNumber();
    const call = await transferCall({ transfers: { ...TRANSFERS, frontdesk: own } });
    const { status, body } = await transfer(call, { destination: "frontdesk" });
    expect(status).toBe(200);
    expect(body.ok).toBe(false);
    expect(body.message).toMatch(/frontdesk is one of this service's own numbers/);
    expect(body.message).not.toContain(own);
    expect(await callUpdates(call.sid)).toHaveLength(0);
    expect((await call.record())?.transfers ?? []).toHaveLength(0);
  });

  it("is logged with the number masked", async () => {
    const logs = captureLogs();
    const own = await ownNumber();
    const call = await transferCall({ transfers: { ...TRANSFERS, frontdesk: own } });
    await transfer(call, { destination: "frontdesk" });
    expect(logs().find((l) => l.event === "retell.transfer")).toMatchObject({ ok: false, refusal: "own_number", destination: "frontdesk" });
    expect(logged(logs)).not.toContain(own.slice(1));
  });

  it("leaves the agent's other destinations working", async () => {
    const own = await ownNumber();
    const call = await transferCall({ transfers: { ...TRANSFERS, frontdesk: own } });
    expect((await transfer(call, { destination: "sales" })).body.ok).toBe(true);
  });
});
