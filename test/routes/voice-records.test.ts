/**
 * The voice webhook's call records and idempotency: what its line's object holds and copies to D1, copies of one
 * webhook registering once, the <Dial action>, and calls going through with D1 hanging.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import entry from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { lineStub } from "../../src/line/address.ts";
import { actionPath, eventually, failingDb, hangingDb, lineRecord, readCall, recordOf, withBindings } from "../records.ts";

async function mappedNumber(config: Record<string, unknown> = {}): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId();
  await env.AGENTS.put(to, Object.keys(config).length ? JSON.stringify({ retellAgentId: agentId, ...config }) : agentId);
  return { to, agentId };
}

function logged(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls
    .map((call) => {
      try {
        return JSON.parse(String(call[0])) as Record<string, unknown>;
      } catch {
        return {};
      }
    })
    .filter((line) => line.event === event);
}

afterEach(() => vi.restoreAllMocks());

describe("the call record", () => {
  it("holds a connected call's agent, numbers, Retell call id, registration latency and step times", async () => {
    const { to, agentId } = await mappedNumber();
    const params = voiceParams({ To: to, From: "+14155550142" });
    const before = Date.now();
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const [registration] = await retellRequests(agentId);
    // The claim's copy (no outcome yet) may reach D1 before the answer's on a busy machine: wait for the answer.
    const row = await recordOf(params.CallSid as string, (r) => r.outcome !== null);
    expect(row).toMatchObject({
      account_sid: params.AccountSid,
      agent_key: to,
      retell_agent_id: agentId,
      from_number: "+14155550142",
      to_number: to,
      outcome: "connected",
      outcome_reason: null,
      retell_call_id: registration?.callId,
      retell_register_attempts: 1,
    });
    expect(sipUri(text)).toContain(String(row.retell_call_id));
    expect(row.retell_register_ms).toEqual(expect.any(Number));
    expect(row.voice_received_at as number).toBeGreaterThanOrEqual(before);
    expect(row.voice_answered_at as number).toBeGreaterThanOrEqual(row.voice_received_at as number);
    expect(row.created_at).toBe(row.voice_received_at);
  });

  it("records a call to an unmapped number as agent_not_found, with the key it was routed by", async () => {
    const to = uniqueNumber();
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(await recordOf(params.CallSid as string)).toMatchObject({ outcome: "agent_not_found", agent_key: to, retell_call_id: null });
  });

  it("records the per-agent route's agent:<id> key", async () => {
    const agentId = uniqueAgentId();
    const routeId = `desk-${agentId.slice(-6)}`;
    await env.AGENTS.put(`agent:${routeId}`, agentId);
    const params = voiceParams({ To: uniqueNumber() });
    await (await worker(twilioRequest(`/api/webhooks/twilio/${routeId}`, params))).text();
    expect(await recordOf(params.CallSid as string)).toMatchObject({ agent_key: `agent:${routeId}`, retell_agent_id: agentId });
  });

  it("records a fallback with Retell's failure reason", async () => {
    const { to, agentId } = await mappedNumber({ fallbackNumber: "+61390000001" });
    await setRetellBehaviour(agentId, { status: 422 });
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(await recordOf(params.CallSid as string)).toMatchObject({ outcome: "fallback_dialed", outcome_reason: "retell_rejected", retell_call_id: null });
  });

  it("records nothing for a dry run", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to, BridgeDryRun: "1" });
    await withBindings(twilioRequest("/api/webhooks/twilio", params), {});
    expect(await lineRecord(to, params.CallSid as string)).toBeNull();
    expect(await readCall(params.CallSid as string)).toBeNull();
  });
});

describe("the <Dial action>", () => {
  it("points the SIP dial at dial-complete on the signed origin, naming the agent's KV key", async () => {
    const { to } = await mappedNumber();
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    expect(actionPath(text)).toBe(`/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(to)}&leg=retell&end=1`);
  });

  it("points the fallback dial at dial-complete as the fallback leg", async () => {
    const { to, agentId } = await mappedNumber({ fallbackNumber: "+61390000002" });
    await setRetellBehaviour(agentId, { status: 500 });
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    expect(actionPath(text)).toBe(`/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(to)}&leg=fallback&end=1`);
  });

  it("uses WEBHOOK_BASE_URL's origin, which is what Twilio signs", async () => {
    const { to } = await mappedNumber();
    const request = twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }), { signedUrl: "https://calls.example.com/api/webhooks/twilio" });
    const { text } = await withBindings(request, { WEBHOOK_BASE_URL: "https://calls.example.com" });
    expect(text).toContain('action="https://calls.example.com/api/webhooks/twilio/dial-complete?agent=');
  });
});

describe("a replayed voice webhook", () => {
  it("answers with the same SIP TwiML and registers nothing new", async () => {
    const { to, agentId } = await mappedNumber();
    const params = voiceParams({ To: to });
    const first = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    await recordOf(params.CallSid as string, (row) => row.retell_call_id !== null);
    const replay = await worker(twilioRequest("/api/webhooks/twilio", params, { headers: { "I-Twilio-Idempotency-Token": "retry-1" } }));
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(first);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it("leaves the record as the first webhook wrote it", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const before = await lineRecord(to, params.CallSid as string);
    await withBindings(twilioRequest("/api/webhooks/twilio", params), {});
    expect(await lineRecord(to, params.CallSid as string)).toEqual(before);
  });

  it("registers again for a CallSid whose first webhook got no Retell call", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { status: 500, times: 3 });
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect((await lineRecord(to, params.CallSid as string))?.outcome).toBe("retell_failed");
    const retry = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(sipUri(retry)).toMatch(/^sip:call_/);
    expect(await recordOf(params.CallSid as string, (row) => row.outcome === "connected")).toMatchObject({ outcome: "connected" });
  });
});

describe("copies of one webhook", () => {
  const send = (params: Record<string, string>) => worker(twilioRequest("/api/webhooks/twilio", params)).then((res) => res.text());

  it("10 at the same instant while Retell takes 1.5 s: one registration, the same SIP TwiML for all", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { delayMs: 1_500 });
    const params = voiceParams({ To: to });
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(params)));
    expect(sipUri(answers[0] as string)).toMatch(/^sip:call_/);
    expect(new Set(answers).size).toBe(1);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it("in flight when the registration fails: the same answer, and no second registration", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { status: 422, delayMs: 500 });
    const params = voiceParams({ To: to });
    const answers = await Promise.all([send(params), send(params)]);
    expect(answers[0]).toContain(APOLOGY_MESSAGE);
    expect(answers[1]).toBe(answers[0]);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it("after the line's object was evicted mid-registration: decided from the stored claim, registered once", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { delayMs: 1_500 });
    const params = voiceParams({ To: to });
    const first = send(params);
    // Mid-registration: Retell has the request (and answers 1.5 s later) when the object is evicted.
    await eventually(() => retellRequests(agentId), (requests) => requests.length === 1);
    await evictDurableObject(lineStub(env, to));
    const copy = await send(params);
    expect(copy).toBe(await first);
    expect(sipUri(copy)).toMatch(/^sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });
});

describe("D1, out of the call's path", () => {
  it("hanging on every call: calls connect and finish without it, and D1 is never asked", async () => {
    const { to } = await mappedNumber();
    const { db, calls } = hangingDb();
    const ctx = createExecutionContext();
    const res = await entry.fetch(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { ...(env as Bindings), DB: db }, ctx);
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
    // A call waiting on D1 would never finish (this D1 never answers): finishing, and no D1 call, is the proof.
    await waitOnExecutionContext(ctx);
    expect(calls).toEqual([]);
  });

  it("failing: the call connects, and its line copies the record to D1 once D1 answers", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to });
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", params), { DB: failingDb });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(await recordOf(params.CallSid as string)).toMatchObject({ outcome: "connected" });
  });

  it("asks KV for the agent and the line's object for the claim side by side, not one after the other", async () => {
    const { to } = await mappedNumber();
    clearAgentMemo();
    // Each waits until the other has started: asked one after the other, they would wait for ever.
    let kvStarted!: () => void;
    let lineStarted!: () => void;
    const kvAsked = new Promise<void>((resolve) => (kvStarted = resolve));
    const lineAsked = new Promise<void>((resolve) => (lineStarted = resolve));
    const kv = {
      async get(key: string) {
        kvStarted();
        await lineAsked;
        return env.AGENTS.get(key);
      },
    } as unknown as KVNamespace;
    const lines = {
      idFromName: (name: string) => env.LINES.idFromName(name),
      get(id: DurableObjectId) {
        const stub = env.LINES.get(id);
        return {
          async claimVoice(...args: Parameters<typeof stub.claimVoice>) {
            lineStarted();
            await kvAsked;
            return stub.claimVoice(...args);
          },
          completeVoice: (...args: Parameters<typeof stub.completeVoice>) => stub.completeVoice(...args),
        };
      },
    } as unknown as Bindings["LINES"];
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { AGENTS: kv, LINES: lines });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
  });

  it("a line object failing: the call still connects, and the log names the step", async () => {
    const { to, agentId } = await mappedNumber();
    const broken = { idFromName: (name: string) => env.LINES.idFromName(name), get: () => ({ claimVoice: () => Promise.reject(new Error("object reset")) }) } as unknown as Bindings["LINES"];
    const error = vi.spyOn(console, "error");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { LINES: broken });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(1);
    expect(logged(error, "line.unavailable")[0]).toMatchObject({ step: "claim", detail: "object reset" });
  });
});

describe("routing", () => {
  it.each(["status", "dial-complete"])("never takes %s as an agent id: the route is its own", async (name) => {
    await env.AGENTS.put(`agent:${name}`, uniqueAgentId());
    const res = await worker(twilioRequest(`/api/webhooks/twilio/${name}`, voiceParams()));
    expect(sipUri(await res.text())).toBeNull();
  });

  it("still serves agent ids that merely start with a reserved name", async () => {
    const agentId = uniqueAgentId();
    await env.AGENTS.put("agent:status-line", agentId);
    const res = await worker(twilioRequest("/api/webhooks/twilio/status-line", voiceParams()));
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
  });
});
