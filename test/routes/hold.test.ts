/**
 * Holding callers while a line is at capacity, through the Worker's real entry point with the Retell stand-in:
 * maxConcurrentCalls under simultaneous webhooks, the queue's waitUrl turns as calls end, arrival order,
 * maxHoldSeconds, hanging up while held, and Retell's capacity refusal leading to the queue.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { lineName, lineStub } from "../../src/line/address.ts";
import { DEFAULT_HOLD_MESSAGE, DEFAULT_HOLD_MUSIC_URL } from "../../src/hold/settings.ts";
import { endRetellCall, ORIGIN, retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { actionPath, recordOf } from "../records.ts";

vi.setConfig({ testTimeout: 30_000 });

const FALLBACK = "+61390000077";

async function mappedNumber(config: Record<string, unknown>): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId("hold");
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { to, agentId };
}

interface Placed {
  params: Record<string, string>;
  twiml: string;
}

async function place(to: string, extra: Record<string, string> = {}): Promise<Placed> {
  const params = voiceParams({ To: to, ...extra });
  const res = await worker(twilioRequest("/api/webhooks/twilio", params));
  expect(res.status).toBe(200);
  return { params, twiml: await res.text() };
}

/** The Enqueue's waitUrl and action, as paths on ORIGIN (the form twilioRequest takes). */
function enqueueUrls(twiml: string): { waitUrl: string; action: string; queue: string } {
  const match = /<Enqueue action="([^"]*)" method="POST" waitUrl="([^"]*)" waitUrlMethod="POST">([^<]*)<\/Enqueue>/.exec(twiml);
  if (!match) throw new Error(`no <Enqueue> in ${twiml}`);
  const path = (url: string) => url.replaceAll("&amp;", "&").slice(ORIGIN.length);
  return { action: path(match[1] as string), waitUrl: path(match[2] as string), queue: match[3] as string };
}

function queueParams(call: Placed, extra: Record<string, string>): Record<string, string> {
  const { AccountSid = "", CallSid = "", From = "", To = "" } = call.params;
  return { AccountSid, ApiVersion: "2010-04-01", CallSid, From, To, Direction: "inbound", CallStatus: "in-progress", ...extra };
}

/** A waitUrl request for a held call (tw-enqueue: QueuePosition, QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize). */
async function waitTurn(call: Placed): Promise<string> {
  const res = await worker(twilioRequest(enqueueUrls(call.twiml).waitUrl, queueParams(call, { QueueSid: "QU" + "0".repeat(32), QueuePosition: "1", QueueTime: "5", AvgQueueTime: "5", CurrentQueueSize: "3" })));
  expect(res.status).toBe(200);
  return res.text();
}

/** The Enqueue action once the caller left the queue. */
async function leaveQueue(call: Placed, queueResult: string): Promise<string> {
  const res = await worker(twilioRequest(enqueueUrls(call.twiml).action, queueParams(call, { QueueResult: queueResult, QueueSid: "QU" + "0".repeat(32), QueueTime: "7" })));
  expect(res.status).toBe(200);
  return res.text();
}

/** How the AI leg's dial ended: its place on the line is free (the <Dial action> the voice webhook gave). */
async function dialEnded(call: Placed, twiml: string): Promise<void> {
  const res = await worker(twilioRequest(actionPath(twiml), queueParams(call, { DialCallStatus: "completed", DialCallDuration: "30" })));
  expect(res.status).toBe(200);
}

const LEAVE = '<?xml version="1.0" encoding="UTF-8"?><Response><Leave/></Response>';

describe("maxConcurrentCalls", () => {
  it("connects exactly maxConcurrentCalls of 20 simultaneous callers and holds the rest in the line's queue", async () => {
    const { to, agentId } = await mappedNumber({ maxConcurrentCalls: 5 });
    const calls = await Promise.all(Array.from({ length: 20 }, () => place(to)));
    const connected = calls.filter((c) => sipUri(c.twiml) !== null);
    const held = calls.filter((c) => c.twiml.includes("<Enqueue"));
    expect(connected).toHaveLength(5);
    expect(held).toHaveLength(15);
    expect(await retellRequests(agentId)).toHaveLength(5);
    expect(new Set(held.map((c) => enqueueUrls(c.twiml).queue))).toEqual(new Set([`hold:${lineName(to)}`]));
    expect(await lineStub(env, lineName(to)).capacity()).toMatchObject({ connected: 5 });
    expect(await recordOf(held[0]?.params.CallSid ?? "", (row) => row.outcome !== null)).toMatchObject({ outcome: "queued", outcome_reason: "line_full", queued_at: expect.any(Number) });
  });

  it("has held callers wait with the message and music while the line is full", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1 });
    await place(to);
    const held = await place(to);
    expect(await waitTurn(held)).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>${DEFAULT_HOLD_MESSAGE}</Say><Play>${DEFAULT_HOLD_MUSIC_URL}</Play></Response>`);
  });

  it("plays the agent's own hold message (escaped) and music", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1, holdMessage: "Please <hold> & wait", holdMusicUrl: "https://example.com/loop.mp3?a=1&b=2" });
    await place(to);
    const held = await place(to);
    expect(await waitTurn(held)).toContain("<Say>Please &lt;hold&gt; &amp; wait</Say><Play>https://example.com/loop.mp3?a=1&amp;b=2</Play>");
  });

  it("lets the first held caller go when a call ends, connects them like a fresh call, and keeps the next one waiting", async () => {
    const { to, agentId } = await mappedNumber({ maxConcurrentCalls: 1, announce: { text: "This call is recorded." } });
    const first = await place(to);
    const second = await place(to);
    const third = await place(to);
    expect(await waitTurn(second)).toContain("<Say>");
    await dialEnded(first, first.twiml);
    expect(await waitTurn(third)).toContain("<Say>");
    expect(await waitTurn(second)).toBe(LEAVE);
    const connected = await leaveQueue(second, "leave");
    expect(connected).toMatch(/<Response><Say>This call is recorded\.<\/Say><Dial [^>]*><Sip>sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(2);
    // A repeat of the action (Twilio's retry) dials the same Retell call: one registration per CallSid.
    expect(sipUri(await leaveQueue(second, "leave"))).toBe(sipUri(connected));
    expect(await retellRequests(agentId)).toHaveLength(2);
    expect(await waitTurn(third)).toContain("<Say>");
    const record = await recordOf(second.params.CallSid ?? "", (row) => row.outcome === "connected");
    expect(record).toMatchObject({ outcome: "connected", queued_at: expect.any(Number), held_ms: expect.any(Number), announced: 1, concurrent_calls: 1 });
  });

  it("does not count a held caller against the rate limits again when they leave the queue", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1 });
    const caller = "+14155550188";
    const first = await place(to, { From: caller });
    const second = await place(to, { From: caller });
    await place(to, { From: caller });
    await dialEnded(first, first.twiml);
    expect(await waitTurn(second)).toBe(LEAVE);
    // The caller's fourth registration this minute would be over CALLER_RATE_LIMITER (3): this is not a new call.
    expect(sipUri(await leaveQueue(second, "leave"))).toMatch(/^sip:call_/);
  });

  it("sends a caller on to the fallback number after maxHoldSeconds", async () => {
    const { to, agentId } = await mappedNumber({ maxConcurrentCalls: 1, maxHoldSeconds: 10, fallbackNumber: FALLBACK });
    await place(to);
    const held = await place(to);
    // The line counts from when the caller was queued: that moment is moved back rather than waited for.
    await runInDurableObject(lineStub(env, lineName(to)), (_line, state) => {
      state.storage.sql.exec("UPDATE hold_queue SET queued_at = queued_at - 10000 WHERE call_sid = ?", held.params.CallSid);
    });
    expect(await waitTurn(held)).toBe(LEAVE);
    const next = await leaveQueue(held, "leave");
    expect(next).toMatch(new RegExp(`<Dial [^>]*><Number>\\${FALLBACK}</Number></Dial>`));
    expect(await retellRequests(agentId)).toHaveLength(1);
    expect(await recordOf(held.params.CallSid ?? "", (row) => row.outcome === "fallback_dialed")).toMatchObject({ outcome_reason: "hold_timeout", held_ms: expect.any(Number) });
  });

  it("apologises after maxHoldSeconds when the agent has no fallback number", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1, maxHoldSeconds: 10 });
    await place(to);
    const held = await place(to);
    await runInDurableObject(lineStub(env, lineName(to)), (_line, state) => {
      state.storage.sql.exec("UPDATE hold_queue SET queued_at = queued_at - 10000 WHERE call_sid = ?", held.params.CallSid);
    });
    expect(await waitTurn(held)).toBe(LEAVE);
    expect(await leaveQueue(held, "leave")).toContain(`<Say>${APOLOGY_MESSAGE}</Say><Hangup/>`);
    expect(await recordOf(held.params.CallSid ?? "", (row) => row.outcome === "retell_failed")).toMatchObject({ outcome_reason: "hold_timeout" });
  });

  it("records a caller who hangs up while held as abandoned, with the time held, and frees their place in the queue", async () => {
    const { to } = await mappedNumber({ maxConcurrentCalls: 1 });
    const first = await place(to);
    const quitter = await place(to);
    const patient = await place(to);
    expect(await leaveQueue(quitter, "hangup")).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(await recordOf(quitter.params.CallSid ?? "", (row) => row.outcome === "abandoned")).toMatchObject({ outcome: "abandoned", held_ms: expect.any(Number) });
    await dialEnded(first, first.twiml);
    expect(await waitTurn(patient)).toBe(LEAVE);
  });
});

describe("Retell's capacity refusal", () => {
  it("holds the caller instead of sending them to the fallback, and connects them once Retell has room", async () => {
    const { to, agentId } = await mappedNumber({ fallbackNumber: FALLBACK });
    await setRetellBehaviour(agentId, { concurrency: { limit: 1 } });
    const first = await place(to);
    const held = await place(to);
    expect(held.twiml).toContain("<Enqueue");
    expect(await recordOf(held.params.CallSid ?? "", (row) => row.outcome !== null)).toMatchObject({ outcome: "queued", outcome_reason: "retell_at_capacity" });
    const [firstRegistration] = (await retellRequests(agentId)).filter((r) => r.status === 201);
    await endRetellCall(firstRegistration?.callId ?? "");
    await dialEnded(first, first.twiml);
    expect(await waitTurn(held)).toBe(LEAVE);
    expect(sipUri(await leaveQueue(held, "leave"))).toMatch(/^sip:call_/);
  });
});

describe("the queue's routes", () => {
  it.each(["/api/webhooks/twilio/hold", "/api/webhooks/twilio/hold-complete"])("%s refuses a request without Twilio's signature", async (path) => {
    const request = twilioRequest(`${path}?agent=%2B61390000000&line=%2B61390000000`, voiceParams(), { headers: { "X-Twilio-Signature": "forged" } });
    expect((await worker(request)).status).toBe(403);
  });
});
