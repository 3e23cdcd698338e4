/**
 * The voice webhook's call records and idempotency: what lands in D1 after the answer, a replayed webhook
 * registering nothing new, the <Dial action>, and calls going through while D1 is down.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import entry from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { actionPath, failingDb, readCall, recordOf, withBindings } from "../records.ts";

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
    const row = await recordOf(params.CallSid as string);
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

  it("is written after the answer: a slow write does not hold the TwiML back", async () => {
    const { to } = await mappedNumber();
    const slowWrites = {
      prepare(sql: string) {
        const statement = env.DB.prepare(sql);
        if (!sql.startsWith("INSERT")) return statement;
        return { bind: (...values: unknown[]) => ({ run: () => new Promise((resolve) => setTimeout(resolve, 1_000)).then(() => statement.bind(...values).run()) }) };
      },
    } as unknown as D1Database;
    const ctx = createExecutionContext();
    const started = Date.now();
    const res = await entry.fetch(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { ...(env as Bindings), DB: slowWrites }, ctx);
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
    expect(Date.now() - started).toBeLessThan(800);
    await waitOnExecutionContext(ctx);
  });

  it("records nothing for a dry run", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to, BridgeDryRun: "1" });
    await withBindings(twilioRequest("/api/webhooks/twilio", params), {});
    expect(await readCall(params.CallSid as string)).toBeNull();
  });
});

describe("the <Dial action>", () => {
  it("points the SIP dial at dial-complete on the signed origin, naming the agent's KV key", async () => {
    const { to } = await mappedNumber();
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    expect(actionPath(text)).toBe(`/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(to)}&leg=retell`);
  });

  it("points the fallback dial at dial-complete as the fallback leg", async () => {
    const { to, agentId } = await mappedNumber({ fallbackNumber: "+61390000002" });
    await setRetellBehaviour(agentId, { status: 500 });
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    expect(actionPath(text)).toBe(`/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(to)}&leg=fallback`);
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
    const before = await recordOf(params.CallSid as string, (row) => row.retell_call_id !== null);
    await withBindings(twilioRequest("/api/webhooks/twilio", params), {});
    expect(await readCall(params.CallSid as string)).toEqual(before);
  });

  it("registers again for a CallSid whose first webhook got no Retell call", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { status: 500, times: 3 });
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    await recordOf(params.CallSid as string, (row) => row.outcome === "retell_failed");
    const retry = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(sipUri(retry)).toMatch(/^sip:call_/);
    expect(await recordOf(params.CallSid as string, (row) => row.outcome === "connected")).toMatchObject({ outcome: "connected" });
  });
});

describe("D1", () => {
  it("failing: the call still gets its SIP TwiML, and the failures are logged", async () => {
    const { to, agentId } = await mappedNumber();
    const warn = vi.spyOn(console, "warn");
    const error = vi.spyOn(console, "error");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { DB: failingDb });
    expect(res.status).toBe(200);
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(1);
    expect(logged(warn, "calls.replay_check_failed")).toHaveLength(1);
    expect(logged(error, "calls.record_failed")[0]).toMatchObject({ step: "voice", detail: expect.stringContaining("simulated outage") });
  });

  it("failing: an unmapped number still hears that it is not in service", async () => {
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: uniqueNumber() })), { DB: failingDb });
    expect(res.status).toBe(200);
    expect(res.text).toContain("<Say>");
    expect(res.text).not.toContain(APOLOGY_MESSAGE);
  });

  it("not answering: the call goes ahead as a first-time call after the lookup's time limit", async () => {
    const { to } = await mappedNumber();
    const hanging = {
      prepare(sql: string) {
        if (sql.startsWith("SELECT retell_call_id")) return { bind: () => ({ first: () => new Promise(() => {}) }) };
        return env.DB.prepare(sql);
      },
    } as unknown as D1Database;
    const warn = vi.spyOn(console, "warn");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { DB: hanging });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(logged(warn, "calls.replay_check_failed")[0]).toMatchObject({ detail: "D1 replay lookup timed out after 1000 ms" });
  });

  it("is asked for a prior registration while KV is asked for the agent, not after", async () => {
    const { to } = await mappedNumber();
    clearAgentMemo();
    // Each lookup waits until the other has started: run one after the other, they would wait for ever.
    let kvStarted!: () => void;
    let dbStarted!: () => void;
    const kvAsked = new Promise<void>((resolve) => (kvStarted = resolve));
    const dbAsked = new Promise<void>((resolve) => (dbStarted = resolve));
    const kv = {
      async get(key: string) {
        kvStarted();
        await dbAsked;
        return env.AGENTS.get(key);
      },
    } as unknown as KVNamespace;
    const db = {
      prepare(sql: string) {
        const statement = env.DB.prepare(sql);
        if (!sql.startsWith("SELECT retell_call_id")) return statement;
        return {
          bind: (...values: unknown[]) => ({
            async first(column: string) {
              dbStarted();
              await kvAsked;
              return statement.bind(...values).first(column);
            },
          }),
        };
      },
    } as unknown as D1Database;
    const warn = vi.spyOn(console, "warn");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { AGENTS: kv, DB: db });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(logged(warn, "calls.replay_check_failed")).toHaveLength(0);
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
