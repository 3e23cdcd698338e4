/** POST /api/webhooks/retell/transfer: the custom function that moves a live call to a person, through the Worker's entry point. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_TRANSFERS_PER_CALL } from "../../src/line/transitions.ts";
import { ANNOUNCE_PREFIX } from "../../src/transfers/dial.ts";
import { env } from "cloudflare:workers";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { failTwilio, ORIGIN, retellRequests, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { captureLogs, eventually, failingLines, withBindings } from "../records.ts";
import { TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN } from "../secrets.ts";
import {
  callUpdates,
  parseTwiml,
  SALES,
  signedTransfer,
  SUPPORT,
  transfer,
  transferCall,
  transferRequest,
  TRANSFERS,
  type TransferCall,
} from "../transfers.ts";

afterEach(() => vi.restoreAllMocks());

/** The Twiml of the one update Twilio received for the call. */
async function onlyUpdate(call: TransferCall) {
  const updates = await callUpdates(call.sid);
  expect(updates).toHaveLength(1);
  return updates[0]!;
}

describe("a transfer to a configured destination", () => {
  it("updates the live call through Twilio's REST API with the call's account and the auth token", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales" });
    const update = await onlyUpdate(call);
    expect(update).toMatchObject({ method: "POST", status: 200 });
    expect(update.path).toBe(`/2010-04-01/Accounts/${TEST_TWILIO_ACCOUNT_SID}/Calls/${call.sid}.json`);
    expect(update.authorization).toBe(`Basic ${btoa(`${TEST_TWILIO_ACCOUNT_SID}:${TEST_TWILIO_AUTH_TOKEN}`)}`);
    expect(Object.keys(update.form)).toEqual(["Twiml"]);
  });

  it("answers 200 ok with a sentence that the caller is being put through", async () => {
    const call = await transferCall();
    const { status, body } = await transfer(call, { destination: "sales" });
    expect(status).toBe(200);
    expect(body).toEqual({ ok: true, message: "The caller is being put through to sales now." });
  });

  it("dials a number with answerOnBridge, the default ring time, the dialed number as caller id and an absolute action", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales" });
    const twiml = parseTwiml((await onlyUpdate(call)).form.Twiml![0]!);
    expect(twiml.dial).toEqual({ answerOnBridge: "true", timeout: "25", callerId: call.line, action: `${ORIGIN}/api/webhooks/twilio/transfer-complete?attempt=0&end=1` });
    expect(twiml.noun).toEqual({ name: "Number", target: SALES, url: null });
  });

  it("dials a SIP URI with <Sip>", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "support" });
    expect(parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun).toEqual({ name: "Sip", target: SUPPORT, url: null });
  });

  it("matches the destination's name case-insensitively", async () => {
    const call = await transferCall();
    const { body } = await transfer(call, { destination: " SaLeS " });
    expect(body.ok).toBe(true);
    expect(parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun?.target).toBe(SALES);
  });

  it("rings for the agent's transferTimeoutSeconds and shows its transferCallerId", async () => {
    const call = await transferCall({ transfers: TRANSFERS, transferTimeoutSeconds: 40, transferCallerId: "+61 3 9000 0099" });
    await transfer(call, { destination: "sales" });
    expect(parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).dial).toMatchObject({ timeout: "40", callerId: "+61390000099" });
  });

  it("records the attempt on the call: destination, when, the AI leg that asked, and Twilio's acceptance", async () => {
    const call = await transferCall();
    const before = Date.now();
    await transfer(call, { destination: "sales", announce: "A caller about billing." });
    const record = await call.record();
    expect(record?.transfers).toEqual([
      expect.objectContaining({ destination: "sales", retellCallId: call.retellCallId, update: "accepted", updateError: null, dialStatus: null, returnRetellCallId: null }),
    ]);
    expect(record?.transfers?.[0]?.requestedAt).toBeGreaterThanOrEqual(before);
    expect(JSON.stringify(record)).not.toContain("billing");
  });
});

describe("the whisper", () => {
  const ANNOUNCE = `A caller about a "billing" question & a refund <urgent>, transferred by the front-desk assistant.`;

  it("points the person's <Number url> at the Twilio-signed whisper route, absolute, with an opaque id and not the sentence", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales", announce: ANNOUNCE });
    const url = parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun?.url ?? "";
    expect(url.startsWith(`${ORIGIN}/api/webhooks/twilio/transfer-whisper?`)).toBe(true);
    expect(new URL(url).searchParams.get("whisper")).toMatch(/^[0-9a-f-]{36}$/);
    expect(url).not.toContain("billing");
    expect(url).not.toContain("say=");
  });

  it("points a <Sip url> at it too", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "support", announce: ANNOUNCE });
    expect(parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun).toMatchObject({ name: "Sip", url: expect.stringContaining("/api/webhooks/twilio/transfer-whisper?") });
  });

  it("says the sentence behind the system's prefix, XML-escaped, when Twilio requests it for the person's leg", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales", announce: ANNOUNCE });
    const url = parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun?.url ?? "";
    const res = await worker(twilioRequest(url.slice(ORIGIN.length), { AccountSid: TEST_TWILIO_ACCOUNT_SID, CallSid: "CA" + "f".repeat(32), ParentCallSid: call.sid, Direction: "outbound-dial", From: call.line, To: SALES }));
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain("&quot;billing&quot; question &amp; a refund &lt;urgent&gt;");
    expect(parseTwiml(text)).toMatchObject({ say: `${ANNOUNCE_PREFIX} ${ANNOUNCE}`, hangup: 0, verbs: 1 });
  });

  it("says nothing for a whisper of another call", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales", announce: ANNOUNCE });
    const url = parseTwiml((await onlyUpdate(call)).form.Twiml![0]!).noun?.url ?? "";
    const res = await worker(twilioRequest(url.slice(ORIGIN.length), { AccountSid: TEST_TWILIO_ACCOUNT_SID, CallSid: "CA" + "f".repeat(32), ParentCallSid: "CA" + "e".repeat(32), Direction: "outbound-dial", From: call.line, To: SALES }));
    expect(parseTwiml(await res.text())).toMatchObject({ say: null, verbs: 0 });
  });

  it("refuses a whisper request Twilio did not sign", async () => {
    const res = await worker(twilioRequest("/api/webhooks/twilio/transfer-whisper?whisper=x&end=1", { CallSid: "CA" + "f".repeat(32) }, { token: "not-the-token" }));
    expect(res.status).toBe(403);
  });
});

describe("a refused transfer", () => {
  it.each([
    ["a name the agent does not have", { destination: "billing" }, /no transfer destination called "billing"; the destinations are: sales, support\./],
    ["a phone number instead of a name", { destination: "+61390000009" }, /no transfer destination called "\+61390000009"/],
    ["a SIP URI instead of a name", { destination: "sip:attacker@evil.example.com" }, /no transfer destination called/],
    ["an announcement over 300 characters", { destination: "sales", announce: "x".repeat(301) }, /longer than 300 characters/],
  ])("answers ok: false for %s, and makes no Twilio update", async (_name, args, message) => {
    const call = await transferCall();
    const { status, body } = await transfer(call, args);
    expect(status).toBe(200);
    expect(body.ok).toBe(false);
    expect(body.message).toMatch(message);
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("answers ok: false when the agent has no transfers set up", async () => {
    const call = await transferCall({});
    const { body } = await transfer(call, { destination: "sales" });
    expect(body).toEqual({ ok: false, message: expect.stringMatching(/^Transfers are not set up for this line/) });
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("answers ok: false for a call whose metadata names no Twilio call", async () => {
    const call = await transferCall();
    const { body } = await transfer({ ...call, retell: { ...call.retell, metadata: {} } }, { destination: "sales" });
    expect(body).toEqual({ ok: false, message: expect.stringMatching(/^This call cannot be transferred from here/) });
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("answers ok: false when the request's call id is not the Retell call bridged on that Twilio call", async () => {
    const call = await transferCall();
    const { body } = await transfer(call, { destination: "sales" }, { retellCallId: "call_someoneelse0000000000000000000" });
    expect(body).toEqual({ ok: false, message: "This call is no longer connected to you, so it cannot be transferred." });
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("answers ok: false once Twilio has reported the call over", async () => {
    const call = await transferCall();
    const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
    await (await worker(twilioRequest("/api/webhooks/twilio/status", { AccountSid, CallSid, From, To, Direction: "inbound", CallStatus: "completed", CallDuration: "30", SequenceNumber: "3" }))).text();
    const { body } = await transfer(call, { destination: "sales" });
    expect(body).toEqual({ ok: false, message: "This call is no longer connected to you, so it cannot be transferred." });
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it(`answers ok: false after ${MAX_TRANSFERS_PER_CALL} transfers of the call`, async () => {
    const call = await transferCall();
    // Twilio refuses each, so the caller stays with the same AI leg and asks again with another announcement.
    await failTwilio(call.sid, { status: 503 });
    for (let i = 0; i < MAX_TRANSFERS_PER_CALL; i++) await transfer(call, { destination: "sales", announce: `try ${i}` });
    await failTwilio(call.sid, null);
    const { body } = await transfer(call, { destination: "support" });
    expect(body).toEqual({ ok: false, message: `This call has already been transferred ${MAX_TRANSFERS_PER_CALL} times, the most allowed; offer to take a message instead.` });
    expect(await callUpdates(call.sid)).toHaveLength(MAX_TRANSFERS_PER_CALL);
  });
});

describe("when Twilio does not take the update", () => {
  it.each([
    ["refuses it because the call is not in progress (21220)", 400, "twilio_rejected_400_21220"],
    ["refuses the credentials", 401, "twilio_rejected_401_20003"],
    ["fails", 500, "twilio_unavailable_500_20500"],
    ["is unavailable", 503, "twilio_unavailable_503_20500"],
  ] as const)("answers 200 ok: false when Twilio %s, and records why", async (_name, status, error) => {
    const call = await transferCall();
    await failTwilio(call.sid, { status });
    const res = await transfer(call, { destination: "sales" });
    await failTwilio(call.sid, null);
    expect(res).toEqual({ status: 200, body: { ok: false, message: expect.stringMatching(/^The transfer to sales did not go through, so the caller is still with you/) } });
    expect((await call.record())?.transfers).toEqual([expect.objectContaining({ update: "refused", updateError: error })]);
  });

  it("answers 200 ok: false within its time limit when Twilio hangs", async () => {
    const call = await transferCall();
    await failTwilio(call.sid, { status: 500, hang: true });
    // The stand-in never answers: any answer at all is the 5 s limit at work (without it, the test times out).
    const res = await transfer(call, { destination: "sales" });
    await failTwilio(call.sid, null);
    expect(res.body.ok).toBe(false);
    expect((await call.record())?.transfers).toEqual([expect.objectContaining({ update: "refused", updateError: "twilio_timeout" })]);
  }, 30_000);
});

describe("repeats (Retell retries a custom function up to 2 times)", () => {
  it("answers the same request again with the same answer and no second Twilio update", async () => {
    const call = await transferCall();
    const first = await transfer(call, { destination: "sales", announce: "Billing." });
    const again = await transfer(call, { destination: "SALES", announce: "Billing." });
    expect(again).toEqual(first);
    expect(await callUpdates(call.sid)).toHaveLength(1);
  });

  it("answers the same refusal again after Twilio refused it, without asking Twilio again", async () => {
    const call = await transferCall();
    await failTwilio(call.sid, { status: 503, times: 1 });
    const first = await transfer(call, { destination: "sales" });
    const again = await transfer(call, { destination: "sales" });
    expect(first.body.ok).toBe(false);
    expect(again).toEqual(first);
    expect(await callUpdates(call.sid)).toHaveLength(1);
  });

  it("gives requests arriving together one Twilio update and the same answer", async () => {
    const call = await transferCall();
    const answers = await Promise.all([transfer(call, { destination: "sales" }), transfer(call, { destination: "sales" }), transfer(call, { destination: "support" })]);
    expect(await callUpdates(call.sid)).toHaveLength(1);
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]?.body.ok).toBe(true);
  });

  it("answers a second request while the first one's update hangs with the first one's answer", async () => {
    const call = await transferCall();
    await failTwilio(call.sid, { status: 500, hang: true, times: 1 });
    const first = transfer(call, { destination: "sales" });
    // The first one's update has reached Twilio (and hangs there) before the second request is sent.
    await eventually(() => callUpdates(call.sid), (updates) => updates.length === 1);
    const second = await transfer(call, { destination: "support" });
    expect(second).toEqual(await first);
    expect(await callUpdates(call.sid)).toHaveLength(1);
  }, 20_000);

  it("answers another destination after a successful transfer with the transfer under way, making no update", async () => {
    const call = await transferCall();
    await transfer(call, { destination: "sales" });
    const { body } = await transfer(call, { destination: "support" });
    expect(body).toEqual({ ok: true, message: "The caller is being put through to sales now." });
    expect(await callUpdates(call.sid)).toHaveLength(1);
  });
});

describe("the request itself", () => {
  it.each([
    ["no signature", null],
    ["a signature made with another key", "key_someone_else_0123456789"],
  ])("is refused with 401 when it has %s, and nothing is dialed", async (_name, key) => {
    const call = await transferCall();
    const res = await worker(await signedTransfer(JSON.stringify({ name: "transfer_call", call: call.retell, args: { destination: "sales" } }), key));
    expect(res.status).toBe(401);
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("is refused with 401 when the body was changed after signing", async () => {
    const call = await transferCall();
    const signed = await signedTransfer(JSON.stringify({ name: "transfer_call", call: call.retell, args: { destination: "sales" } }));
    const tampered = new Request(signed, { body: JSON.stringify({ name: "transfer_call", call: call.retell, args: { destination: "support" } }) });
    expect((await worker(tampered)).status).toBe(401);
  });

  it.each([
    ["is not JSON", () => "destination=sales"],
    ["has only the args (Payload: args only)", () => JSON.stringify({ destination: "sales" })],
    ["has no call", () => JSON.stringify({ name: "transfer_call", args: { destination: "sales" } })],
    ["has a call without call_id", () => JSON.stringify({ name: "transfer_call", call: { metadata: {} }, args: { destination: "sales" } })],
    ["has no args", () => JSON.stringify({ name: "transfer_call", call: { call_id: "call_1" } })],
    ["has no destination", () => JSON.stringify({ name: "transfer_call", call: { call_id: "call_1" }, args: { announce: "hi" } })],
    ["has a destination that is not a string", () => JSON.stringify({ name: "transfer_call", call: { call_id: "call_1" }, args: { destination: ["sales"] } })],
    ["has an announcement that is not a string", () => JSON.stringify({ name: "transfer_call", call: { call_id: "call_1" }, args: { destination: "sales", announce: 7 } })],
  ])("is refused with 400 when it %s", async (_name, body) => {
    const res = await worker(await signedTransfer(body()));
    expect(res.status).toBe(400);
  });

  it("logs the transfer with the CallSid and the outcome, never the destination's number or the announcement", async () => {
    const call = await transferCall();
    const logs = captureLogs();
    await transfer(call, { destination: "sales", announce: "Secret billing matter." });
    const line = logs().find((l) => l.event === "retell.transfer");
    expect(line).toMatchObject({ callSid: call.sid, retellCallId: call.retellCallId, ok: true, destination: "sales", update: "accepted" });
    expect(JSON.stringify(logs())).not.toMatch(/390000001|Secret billing/);
  });

  it("answers ok: false when KV fails, making no Twilio update", async () => {
    const call = await transferCall();
    clearAgentMemo();
    const AGENTS = { get: () => Promise.reject(new Error("KV GET failed: 500 Internal Server Error")) } as unknown as KVNamespace;
    const res = await withBindings(await transferRequest(call, { destination: "sales" }), { AGENTS });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ ok: false, message: expect.stringMatching(/^Transfers are not available right now/) });
    expect(await callUpdates(call.sid)).toEqual([]);
  });

  it("authenticates with TWILIO_ACCOUNT_SID for a call whose webhook carried no AccountSid", async () => {
    const line = uniqueNumber();
    const agentId = uniqueAgentId();
    await env.AGENTS.put(line, JSON.stringify({ retellAgentId: agentId, transfers: TRANSFERS }));
    const { AccountSid: _omitted, ...params } = voiceParams({ To: line });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const registration = (await retellRequests(agentId)).find((r) => r.callId);
    const call = { retell: { call_id: registration?.callId, metadata: (registration?.body as { metadata: unknown }).metadata } } as unknown as TransferCall;
    expect((await transfer(call, { destination: "sales" })).body.ok).toBe(true);
    expect(await callUpdates(params.CallSid ?? "")).toEqual([expect.objectContaining({ authorization: `Basic ${btoa(`${TEST_TWILIO_ACCOUNT_SID}:${TEST_TWILIO_AUTH_TOKEN}`)}` })]);
  });

  it("answers a call whose line's object fails with ok: false, never a 5xx", async () => {
    const call = await transferCall();
    const res = await withBindings(await signedTransfer(JSON.stringify({ name: "transfer_call", call: call.retell, args: { destination: "sales" } })), { LINES: failingLines });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ ok: false, message: expect.stringMatching(/^Transfers are not available right now/) });
  });
});
