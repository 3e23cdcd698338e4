/**
 * The pre-call hook in the voice webhook (docs/pre-call-hook.md): the operator's server, a stand-in on
 * 127.0.0.1 verifying signatures with `standardwebhooks`, decides each call in Retell's own shape; the Retell
 * stand-in shows exactly what was registered.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { HookBehaviour } from "../../stand-ins/hook.ts";
import { APOLOGY_MESSAGE } from "../../src/calls/outcome.ts";
import { hookRequests, retellRequests, setHookBehaviour, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueHook, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { captureLogs, lineRecord, recordOf, withBindings } from "../records.ts";
import { callUpdates, parseTwiml, transfer, transferCall, transferResult, TRANSFERS } from "../transfers.ts";

afterEach(() => vi.restoreAllMocks());

interface HookedLine {
  to: string;
  agentId: string;
  hook: { name: string; url: string };
}

/** A number whose agent has a hook of its own on the stand-in, answering as told. */
async function hookedLine(behaviour: HookBehaviour = {}, config: Record<string, unknown> = {}, timeoutMs?: number): Promise<HookedLine> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId();
  const hook = uniqueHook();
  await setHookBehaviour(hook.name, behaviour);
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, callHook: { url: hook.url, ...(timeoutMs && { timeoutMs }) }, ...config }));
  return { to, agentId, hook };
}

async function call(line: HookedLine, overrides: Record<string, string> = {}) {
  const params = voiceParams({ To: line.to, ...overrides });
  const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  return { params, text, sid: params.CallSid as string };
}

/** What the Retell stand-in accepted for the agent (the registration body). */
async function registered(agentId: string) {
  return (await retellRequests(agentId)).filter((r) => r.path === "/v2/register-phone-call");
}

/** The registration body the call gets without any hook. */
function configured(agentId: string, params: Record<string, string>, to: string) {
  return {
    agent_id: agentId,
    from_number: params.From,
    to_number: to,
    direction: "inbound",
    retell_llm_dynamic_variables: { caller_number: params.From, called_number: to, caller_verification: "none" },
    metadata: { twilio_call_sid: params.CallSid, twilio_line: to, twilio_account_sid: params.AccountSid },
  };
}

describe("the hook's request", () => {
  it("is Retell's call_inbound event with what Twilio said about the caller, signed so standardwebhooks verifies it", async () => {
    const line = await hookedLine({}, { retellAgentVersion: 2 });
    const { params } = await call(line, { From: "+14155550123", CallerName: "ADA LOVELACE", FromCountry: "US", FromState: "CA", FromCity: "SAN FRANCISCO", StirVerstat: "TN-Validation-Passed-A" });
    const [request] = await hookRequests(line.hook.name);
    expect(request?.verified).toBe(true);
    expect(request?.body).toEqual({
      event: "call_inbound",
      call_inbound: {
        agent_id: line.agentId,
        agent_version: 2,
        from_number: "+14155550123",
        to_number: line.to,
        twilio_call_sid: params.CallSid,
        twilio_account_sid: params.AccountSid,
        caller_number: "+14155550123",
        after_hours: false,
        caller_name: "ADA LOVELACE",
        caller_country: "US",
        caller_state: "CA",
        caller_city: "SAN FRANCISCO",
        stir_verstat: "TN-Validation-Passed-A",
      },
    });
  });

  it("has no from_number for a withheld caller, as Retell sends none", async () => {
    const line = await hookedLine();
    await call(line, { From: "anonymous" });
    const [request] = await hookRequests(line.hook.name);
    const inbound = (request?.body as { call_inbound: Record<string, unknown> }).call_inbound;
    expect(inbound).not.toHaveProperty("from_number");
    expect(inbound.caller_number).toBe("anonymous");
  });
});

describe("the hook's answer", () => {
  it("reaches Retell's registration exactly: override agent and version, variables, metadata and agent_override", async () => {
    const vip = uniqueAgentId("vip");
    const agent_override = { agent: { max_call_duration_ms: 600_000, webhook_url: "https://crm.example.com/retell" }, retell_llm: { begin_message: "Hello Ada!" } };
    const answer = {
      call_inbound: {
        override_agent_id: vip,
        override_agent_version: 7,
        dynamic_variables: { customer_name: "Ada", office: "Sydney" },
        metadata: { crm_id: "c-42", nested: { tier: ["gold"] }, twilio_call_sid: "CAforged", twilio_line: "+15555550000" },
        agent_override,
      },
    };
    const line = await hookedLine({ answer }, { retellAgentVersion: 3, dynamicVariables: { office: "Melbourne", team: "front" }, metadata: { source: "kv" } });
    const { params, text } = await call(line);
    const [registration] = await registered(vip);
    expect(registration?.status).toBe(201);
    expect(registration?.body).toEqual({
      agent_id: vip,
      agent_version: 7,
      from_number: params.From,
      to_number: line.to,
      direction: "inbound",
      retell_llm_dynamic_variables: { office: "Sydney", team: "front", customer_name: "Ada", caller_number: params.From, called_number: line.to, caller_verification: "none" },
      metadata: { source: "kv", crm_id: "c-42", nested: { tier: ["gold"] }, twilio_call_sid: params.CallSid, twilio_line: line.to, twilio_account_sid: params.AccountSid },
      agent_override,
    });
    expect(await registered(line.agentId)).toHaveLength(0);
    expect(sipUri(text)).toBe(`sip:${registration?.callId}@sip.retellai.com;transport=tcp`);
  });

  it("records the result, its latency and the agent that took the call", async () => {
    const vip = uniqueAgentId("vip");
    const line = await hookedLine({ answer: { call_inbound: { override_agent_id: vip } } });
    const { sid } = await call(line);
    const row = await recordOf(sid);
    expect(row).toMatchObject({ hook_result: "ok", retell_agent_id: line.agentId, final_agent_id: vip, outcome: "connected" });
    expect(row.hook_ms).toEqual(expect.any(Number));
  });

  it.each([
    ["204", {}],
    ["{}", { answer: {} }],
    ["an empty call_inbound", { answer: { call_inbound: {} } }],
  ])("with %s connects the call as configured", async (_name, behaviour) => {
    const line = await hookedLine(behaviour);
    const { params } = await call(line);
    const [registration] = await registered(line.agentId);
    expect(registration?.body).toEqual(configured(line.agentId, params, line.to));
  });

  it("turns the caller away with reject: <Reject reason=\"rejected\"/>, nothing registered, outcome blocked for the hook", async () => {
    const line = await hookedLine({ answer: { call_inbound: { reject: true } } });
    const { sid, text } = await call(line);
    expect(text).toContain('<Reject reason="rejected"/>');
    expect(text).not.toContain("<Dial");
    expect(await registered(line.agentId)).toHaveLength(0);
    expect(await lineRecord(line.to, sid)).toMatchObject({ outcome: "blocked", outcomeReason: "hook", hookResult: "rejected", finalAgentId: null });
  });
});

describe("a hook that fails", () => {
  it.each<[string, HookBehaviour, string, string]>([
    ["answers 500", { status: 500 }, "error", "status"],
    ["answers 401", { status: 401 }, "error", "status"],
    ["redirects", { mode: "redirect" }, "error", "redirect"],
    ["never answers", { mode: "hang" }, "timeout", "timeout"],
    ["drops the connection twice", { mode: "drop" }, "error", "unreachable"],
    ["sends a body over 64 KiB", { mode: "huge" }, "invalid", "too_large"],
    ["sends HTML", { raw: "<html>oops</html>", contentType: "text/html" }, "invalid", "invalid"],
    ["sends a variable of the wrong type", { answer: { call_inbound: { dynamic_variables: { customer_name: "Ada", vip: true } } } }, "invalid", "invalid"],
    ["sends an array", { answer: [{ call_inbound: {} }] }, "invalid", "invalid"],
  ])("(%s) connects the call exactly as configured, logged without the body", async (_name, behaviour, result, reason) => {
    const logs = captureLogs();
    const line = await hookedLine(behaviour, {}, 500);
    const { params, sid, text } = await call(line);
    const [registration] = await registered(line.agentId);
    expect(registration?.body).toEqual(configured(line.agentId, params, line.to));
    expect(sipUri(text)).toContain(String(registration?.callId));
    expect(await lineRecord(line.to, sid)).toMatchObject({ outcome: "connected", hookResult: result, finalAgentId: line.agentId });
    const failed = logs().filter((l) => l.event === "hook.failed");
    expect(failed).toEqual([expect.objectContaining({ callSid: sid, reason })]);
    expect(JSON.stringify(failed)).not.toContain("Ada");
  });

  it("whose answer Retell then refuses (an unknown override agent) gets the fallback number, as any refused registration", async () => {
    const ghost = uniqueAgentId("ghost");
    await setRetellBehaviour(ghost, { status: 404, errorBody: { status: "error", message: "agent not found" } });
    const line = await hookedLine({ answer: { call_inbound: { override_agent_id: ghost } } }, { fallbackNumber: "+61390000009" });
    const { sid, text } = await call(line);
    expect(text).toContain("<Number>+61390000009</Number>");
    expect(await lineRecord(line.to, sid)).toMatchObject({ outcome: "fallback_dialed", hookResult: "ok", finalAgentId: ghost });
  });

  it("answering after a dropped connection is retried once and its answer used", async () => {
    const line = await hookedLine({ mode: "drop", times: 1, answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
    await call(line);
    expect(await hookRequests(line.hook.name)).toHaveLength(2);
    const [registration] = await registered(line.agentId);
    expect(registration?.body).toMatchObject({ retell_llm_dynamic_variables: { customer_name: "Ada" } });
  });
});

describe("the hook is not asked", () => {
  it("by copies of the webhook: ten at once ask it once and all dial the same call", async () => {
    const line = await hookedLine({ delayMs: 100, answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
    const params = voiceParams({ To: line.to });
    const texts = await Promise.all(Array.from({ length: 10 }, async () => (await worker(twilioRequest("/api/webhooks/twilio", params))).text()));
    expect(await hookRequests(line.hook.name)).toHaveLength(1);
    expect(new Set(texts.map(sipUri)).size).toBe(1);
  });

  it("again by Twilio's retry after a failed registration: the first answer is reused", async () => {
    const line = await hookedLine({ answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
    await setRetellBehaviour(line.agentId, { status: 500, times: 3 });
    const params = voiceParams({ To: line.to });
    const first = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(first).toContain(APOLOGY_MESSAGE);
    const second = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    expect(sipUri(second)).toMatch(/^sip:call_/);
    expect(await hookRequests(line.hook.name)).toHaveLength(1);
    const last = (await registered(line.agentId)).at(-1);
    expect(last?.body).toMatchObject({ retell_llm_dynamic_variables: { customer_name: "Ada" } });
  });

  it.each<[string, Record<string, unknown>, Record<string, string>]>([
    ["a blocked caller", { blockedCallers: ["+14155550666"] }, { From: "+14155550666" }],
    ["a caller not on the allowed list, on a number with no after-hours target", { allowedCallers: ["+14155550777"] }, {}],
  ])("for %s, whom a rule has already answered", async (_name, config, overrides) => {
    const line = await hookedLine({}, config);
    const { text } = await call(line, overrides);
    expect(text).not.toContain("<Dial");
    expect(await hookRequests(line.hook.name)).toHaveLength(0);
  });

  it("for a rate-limited caller", async () => {
    const line = await hookedLine();
    const from = "+14155550888";
    for (let i = 0; i < 3; i++) await call(line, { From: from });
    const { text } = await call(line, { From: from });
    expect(text).not.toContain("<Dial");
    expect(await hookRequests(line.hook.name)).toHaveLength(3);
  });

  it("by an agent with callHook null, even with CALL_HOOK_URL set", async () => {
    const hook = uniqueHook();
    const to = uniqueNumber();
    const agentId = uniqueAgentId();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, callHook: null }));
    const { text } = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { CALL_HOOK_URL: hook.url });
    expect(sipUri(text)).toMatch(/^sip:call_/);
    expect(await hookRequests(hook.name)).toHaveLength(0);
  });

  it("unsigned: without WEBHOOK_SIGNING_SECRET it is skipped, logged, and the call connected as configured", async () => {
    const logs = captureLogs();
    const line = await hookedLine({ answer: { call_inbound: { reject: true } } });
    const params = voiceParams({ To: line.to });
    const { text } = await withBindings(twilioRequest("/api/webhooks/twilio", params), { WEBHOOK_SIGNING_SECRET: "" });
    expect(sipUri(text)).toMatch(/^sip:call_/);
    expect(await hookRequests(line.hook.name)).toHaveLength(0);
    expect(logs().filter((l) => l.event === "hook.failed")).toEqual([expect.objectContaining({ reason: "unsigned", fix: "wrangler secret put WEBHOOK_SIGNING_SECRET" })]);
    expect(await lineRecord(line.to, params.CallSid as string)).toMatchObject({ outcome: "connected", hookResult: "error" });
  });

  it("with a malformed signing secret either: nothing is sent unsigned", async () => {
    const line = await hookedLine();
    const { text } = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: line.to })), { WEBHOOK_SIGNING_SECRET: "whsec_short" });
    expect(sipUri(text)).toMatch(/^sip:call_/);
    expect(await hookRequests(line.hook.name)).toHaveLength(0);
  });
});

describe("the way back to the AI after a failed transfer", () => {
  it("reuses the hook's first answer, with transfer_failed, and does not ask the hook again", async () => {
    const hook = uniqueHook();
    const answer = { call_inbound: { dynamic_variables: { customer_name: "Ada", transfer_failed: "forged" }, metadata: { crm_id: "c-42" }, agent_override: { retell_llm: { begin_message: "Hi Ada" } } } };
    await setHookBehaviour(hook.name, { answer });
    const call = await transferCall({ transfers: TRANSFERS, callHook: { url: hook.url } });
    const { body } = await transfer(call, { destination: "sales" });
    expect(body.ok).toBe(true);
    const [update] = await callUpdates(call.sid);
    const action = parseTwiml(update!.form.Twiml![0]!).dial?.action ?? "";
    const text = await (await worker(transferResult(call, action, { DialCallStatus: "busy" }))).text();
    const [first, back] = await registered(call.agentId);
    expect(sipUri(text)).toContain(String(back?.callId));
    expect(await hookRequests(hook.name)).toHaveLength(1);
    expect(back?.body).toEqual({
      ...(first?.body as object),
      retell_llm_dynamic_variables: { ...(first?.body as { retell_llm_dynamic_variables: object }).retell_llm_dynamic_variables, transfer_failed: "sales" },
    });
    expect(back?.body).toMatchObject({ metadata: { crm_id: "c-42" }, agent_override: answer.call_inbound.agent_override });
  });
});

describe("the default hook", () => {
  it("CALL_HOOK_URL decides for an agent without a callHook of its own", async () => {
    const hook = uniqueHook();
    await setHookBehaviour(hook.name, { answer: { call_inbound: { dynamic_variables: { customer_name: "Grace" } } } });
    const to = uniqueNumber();
    const agentId = uniqueAgentId();
    await env.AGENTS.put(to, agentId);
    await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { CALL_HOOK_URL: hook.url });
    expect(await hookRequests(hook.name)).toHaveLength(1);
    expect((await registered(agentId))[0]?.body).toMatchObject({ retell_llm_dynamic_variables: { customer_name: "Grace" } });
  });
});

describe("the webhook's time", () => {
  it("lets a copy of the webhook wait out the holder's slow hook and registration, past RETELL_TIMEOUT_MS, for the same answer", async () => {
    // The hook answers after longer than the tests' RETELL_TIMEOUT_MS (2 000 ms), within its own deadline.
    const line = await hookedLine({ delayMs: 3_000, answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } }, {}, 4_000);
    const params = voiceParams({ To: line.to });
    const first = worker(twilioRequest("/api/webhooks/twilio", params)).then((r) => r.text());
    // The copy arrives once the holder is waiting on the hook.
    await vi.waitFor(async () => expect(await hookRequests(line.hook.name)).toHaveLength(1), { timeout: 20_000, interval: 20 });
    const copy = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const held = await first;
    expect(sipUri(held)).toMatch(/^sip:call_/);
    expect(sipUri(copy)).toBe(sipUri(held));
    expect(await hookRequests(line.hook.name)).toHaveLength(1);
  });


  it(
    "gives Retell what is left of 14 s after a hook that took its whole deadline, less than RETELL_TIMEOUT_MS",
    async () => {
      const line = await hookedLine({ mode: "hang" }, { fallbackNumber: "+61390000009" }, 5_000);
      await setRetellBehaviour(line.agentId, { mode: "hang" });
      const params = voiceParams({ To: line.to });
      const started = Date.now();
      const { text } = await withBindings(twilioRequest("/api/webhooks/twilio", params), { RETELL_TIMEOUT_MS: "12000" });
      const elapsed = Date.now() - started;
      expect(text).toContain("<Number>+61390000009</Number>");
      const record = await lineRecord(line.to, params.CallSid as string);
      expect(record).toMatchObject({ hookResult: "timeout", outcome: "fallback_dialed", outcomeReason: "retell_timeout" });
      // Retell's budget was min(12 000, 14 000 − what the hook and the rest took): short of the configured 12 s.
      expect(record?.hookMs).toBeGreaterThanOrEqual(5_000);
      expect(record?.retellRegisterMs).toBeLessThan(12_000);
      expect(elapsed).toBeLessThan(15_000);
    },
    30_000,
  );
});
