/**
 * Voicemail through the Worker's real entry point: the after-hours target and the agent's own box (a failed
 * registration, a failed AI leg, the end of a hold), the `<Record>` TwiML, and Twilio's recording status callback
 * (signed, repeated, out of order), kept on the record and found by GET /api/calls?voicemail=true.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { lineName, lineStub } from "../../src/line/address.ts";
import type { CallPage } from "../../src/records/list.ts";
import { ORIGIN, setRetellBehaviour, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { actionPath, adminRequest, recordOf } from "../records.ts";

vi.setConfig({ testTimeout: 20_000 });

const CLOSED = { timeZone: "Australia/Melbourne", hours: {} };
const GREETING = "We are closed. Please leave a message after the tone.";
const RECORDING_SID = "RE" + "a".repeat(32);

async function mappedNumber(config: Record<string, unknown>): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId("vm");
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { to, agentId };
}

async function call(to: string): Promise<{ params: Record<string, string>; twiml: string }> {
  const params = voiceParams({ To: to });
  const res = await worker(twilioRequest("/api/webhooks/twilio", params));
  expect(res.status).toBe(200);
  return { params, twiml: await res.text() };
}

/** The `<Record>`'s recordingStatusCallback and action, as paths on ORIGIN. */
function recordUrls(twiml: string): { callback: string; action: string } {
  const match = /<Record maxLength="\d+" action="([^"]*)" method="POST" recordingStatusCallback="([^"]*)" recordingStatusCallbackMethod="POST" playBeep="true"\/>/.exec(twiml);
  if (!match) throw new Error(`no <Record> in ${twiml}`);
  const path = (url: string) => url.replaceAll("&amp;", "&").slice(ORIGIN.length);
  return { action: path(match[1] as string), callback: path(match[2] as string) };
}

/** Twilio's recording status callback: no From or To (tw-record recordingStatusCallback). */
function recordingCallback(path: string, callSid: string, fields: Record<string, string>): Request {
  return twilioRequest(path, {
    AccountSid: "AC" + "0".repeat(32),
    CallSid: callSid,
    RecordingSid: RECORDING_SID,
    RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/AC${"0".repeat(32)}/Recordings/${RECORDING_SID}`,
    RecordingStatus: "completed",
    RecordingDuration: "14",
    RecordingChannels: "1",
    RecordingSource: "RecordVerb",
    ...fields,
  });
}

describe("the voicemail TwiML", () => {
  it("greets and records after hours, with the callback and action on signed routes naming the line", async () => {
    const { to } = await mappedNumber({ schedule: { ...CLOSED, afterHours: { voicemail: { greeting: GREETING, maxSeconds: 90 } } } });
    const { params, twiml } = await call(to);
    expect(twiml).toMatch(new RegExp(`<Response><Say>${GREETING}</Say><Record maxLength="90" `));
    const line = encodeURIComponent(lineName(to));
    expect(recordUrls(twiml)).toEqual({ callback: `/api/webhooks/twilio/voicemail?line=${line}&end=1`, action: `/api/webhooks/twilio/voicemail-end?line=${line}&end=1` });
    expect(await recordOf(params.CallSid ?? "")).toMatchObject({ outcome: "voicemail", outcome_reason: "after_hours" });
  });

  it("takes a message when Retell fails and the agent has a voicemail but no fallback number", async () => {
    const { to, agentId } = await mappedNumber({ voicemail: { greeting: "Sorry, leave a message.", maxSeconds: 60 } });
    await setRetellBehaviour(agentId, { status: 422 });
    const { params, twiml } = await call(to);
    expect(twiml).toMatch(/<Say>Sorry, leave a message\.<\/Say><Record maxLength="60" /);
    expect(await recordOf(params.CallSid ?? "")).toMatchObject({ outcome: "voicemail", outcome_reason: "retell_rejected" });
  });

  it("takes a message when the AI leg's dial fails and there is no fallback number", async () => {
    const { to } = await mappedNumber({ voicemail: { greeting: "Leave a message.", maxSeconds: 60 } });
    const { params, twiml } = await call(to);
    const res = await worker(twilioRequest(actionPath(twiml), { AccountSid: params.AccountSid ?? "", CallSid: params.CallSid ?? "", From: params.From ?? "", To: to, Direction: "inbound", CallStatus: "in-progress", DialCallStatus: "failed", DialSipResponseCode: "503" }));
    expect(await res.text()).toMatch(/<Say>Leave a message\.<\/Say><Record maxLength="60" /);
    expect(await recordOf(params.CallSid ?? "", (row) => row.outcome === "voicemail")).toMatchObject({ outcome_reason: "dial_failed" });
  });

  it("takes a message at the end of a hold when there is no fallback number", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1, maxHoldSeconds: 10, voicemail: { greeting: "Still busy: leave a message.", maxSeconds: 60 } });
    await call(to);
    const held = await call(to);
    await runInDurableObject(lineStub(env, lineName(to)), (_line, state) => {
      state.storage.sql.exec("UPDATE hold_queue SET state = 'timed_out' WHERE call_sid = ?", held.params.CallSid);
    });
    const action = /<Enqueue action="([^"]*)"/.exec(held.twiml)?.[1]?.replaceAll("&amp;", "&").slice(ORIGIN.length) ?? "";
    const res = await worker(twilioRequest(action, { AccountSid: held.params.AccountSid ?? "", CallSid: held.params.CallSid ?? "", From: held.params.From ?? "", To: to, QueueResult: "leave", QueueTime: "10" }));
    expect(await res.text()).toMatch(/<Say>Still busy: leave a message\.<\/Say><Record maxLength="60" /);
  });

  it("hangs up when the recording ends", async () => {
    const res = await worker(twilioRequest(`/api/webhooks/twilio/voicemail-end?line=%2B61390000000`, voiceParams({ RecordingSid: RECORDING_SID })));
    expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
  });
});

describe("the recording status callback", () => {
  async function voicemailCall(): Promise<{ callSid: string; callback: string }> {
    const { to } = await mappedNumber({ schedule: { ...CLOSED, afterHours: { voicemail: { greeting: GREETING, maxSeconds: 90 } } } });
    const { params, twiml } = await call(to);
    await recordOf(params.CallSid ?? "");
    return { callSid: params.CallSid ?? "", callback: recordUrls(twiml).callback };
  }

  it("keeps the recording's SID, URL and duration on the record (not the audio), once however often it comes", async () => {
    const { callSid, callback } = await voicemailCall();
    for (let i = 0; i < 2; i++) expect((await worker(recordingCallback(callback, callSid, {}))).status).toBe(204);
    const row = await recordOf(callSid, (r) => r.voicemail !== null);
    expect(JSON.parse(String(row.voicemail))).toMatchObject({ recordingSid: RECORDING_SID, url: expect.stringMatching(/^https:\/\/api\.twilio\.com\/.*\/Recordings\/RE/), durationS: 14, status: "completed" });
  });

  it("keeps the completed recording when an earlier in-progress callback arrives after it", async () => {
    const { callSid, callback } = await voicemailCall();
    await worker(recordingCallback(callback, callSid, {}));
    await worker(recordingCallback(callback, callSid, { RecordingStatus: "in-progress", RecordingDuration: "-1" }));
    const row = await recordOf(callSid, (r) => r.voicemail !== null);
    expect(JSON.parse(String(row.voicemail))).toMatchObject({ status: "completed", durationS: 14 });
  });

  it("refuses a callback without Twilio's signature", async () => {
    const { callSid, callback } = await voicemailCall();
    const forged = recordingCallback(callback, callSid, {});
    const res = await worker(new Request(forged, { headers: { ...Object.fromEntries(forged.headers), "X-Twilio-Signature": "forged" } }));
    expect(res.status).toBe(403);
  });

  it("refuses a recording URL that is not Twilio's", async () => {
    const { callSid, callback } = await voicemailCall();
    expect((await worker(recordingCallback(callback, callSid, { RecordingUrl: "https://attacker.example/a.mp3" }))).status).toBe(400);
  });

  it("is found by GET /api/calls?voicemail=true, and left out by voicemail=false", async () => {
    const { callSid, callback } = await voicemailCall();
    await worker(recordingCallback(callback, callSid, {}));
    await recordOf(callSid, (r) => r.voicemail !== null);
    const page = async (query: string) => ((await (await worker(adminRequest(`/api/calls?${query}&limit=200`))).json()) as CallPage).calls.map((c) => c.callSid);
    expect(await page("voicemail=true")).toContain(callSid);
    expect(await page("voicemail=false")).not.toContain(callSid);
    expect((await worker(adminRequest("/api/calls?voicemail=yes"))).status).toBe(400);
  });
});
