import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { DOMParser, type Document } from "@xmldom/xmldom";
import { afterEach, describe, expect, it, vi } from "vitest";
import entry from "../../src/index.ts";
import type { Bindings } from "../../src/env.ts";
import { APOLOGY_MESSAGE, NOT_IN_SERVICE_MESSAGE } from "../../src/calls/outcome.ts";
import {
  ORIGIN,
  retellRequests,
  setRetellBehaviour,
  sipUri,
  twilioRequest,
  uniqueAgentId,
  uniqueNumber,
  voiceParams,
  worker,
} from "../helpers.ts";
import { captureLogs, lineRecord, withBindings } from "../records.ts";
import { TEST_RETELL_API_KEY, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY } from "../secrets.ts";

/** A number mapped to a fresh agent: every test gets its own, so tests never share stand-in state. */
async function mappedNumber(value?: (agentId: string) => string): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId();
  await env.AGENTS.put(to, value ? value(agentId) : agentId);
  return { to, agentId };
}

function parseTwiml(text: string): Document {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => void errors.push(`${level}: ${message}`) }).parseFromString(text, "text/xml");
  expect(errors).toEqual([]);
  expect(doc.documentElement?.nodeName).toBe("Response");
  return doc;
}

afterEach(() => vi.restoreAllMocks());

describe("a call to a mapped number", () => {
  it("answers 200 text/xml with TwiML that dials the registered Retell call over SIP", async () => {
    const { to, agentId } = await mappedNumber();
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    const text = await res.text();
    const [registration] = await retellRequests(agentId);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/xml; charset=utf-8");
    const doc = parseTwiml(text);
    const dial = doc.getElementsByTagName("Dial")[0];
    expect(dial?.getAttribute("answerOnBridge")).toBe("true");
    expect(sipUri(text)).toBe(`sip:${registration?.callId}@sip.retellai.com;transport=tcp`);
  });

  it("registers the call with Retell with the caller, the number, the CallSid and the API key", async () => {
    const { to, agentId } = await mappedNumber();
    const params = voiceParams({ To: to, From: "+14155550199" });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const requests = await retellRequests(agentId);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers.authorization).toBe(`Bearer ${TEST_RETELL_API_KEY}`);
    expect(requests[0]?.body).toEqual({
      agent_id: agentId,
      from_number: "+14155550199",
      to_number: to,
      direction: "inbound",
      retell_llm_dynamic_variables: { caller_number: "+14155550199", called_number: to, caller_verification: "none" },
      metadata: { twilio_call_sid: params.CallSid, twilio_line: to, twilio_account_sid: params.AccountSid },
    });
  });

  it("passes the agent's version, dynamic variables and metadata to Retell", async () => {
    const { to, agentId } = await mappedNumber((id) =>
      JSON.stringify({ retellAgentId: id, retellAgentVersion: 3, dynamicVariables: { office: "Melbourne" }, metadata: { team: "front" } }),
    );
    const params = voiceParams({ To: to });
    await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const [request] = await retellRequests(agentId);
    expect(request?.body).toMatchObject({
      agent_version: 3,
      retell_llm_dynamic_variables: { office: "Melbourne", caller_number: params.From, called_number: to, caller_verification: "none" },
      metadata: { team: "front", twilio_call_sid: params.CallSid },
    });
  });

  it("finds the agent when Twilio's To has spaces and dashes", async () => {
    const to = "+61 3 9" + String(Math.floor(Math.random() * 1e6)).padStart(6, "0").replace(/(\d{3})/, "$1-");
    const agentId = uniqueAgentId();
    await env.AGENTS.put(to.replace(/[\s-]/g, ""), agentId);
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it("serves the per-agent route from the agent:<id> key", async () => {
    const agentId = uniqueAgentId();
    const routeId = `front-desk-${agentId.slice(-6)}`;
    await env.AGENTS.put(`agent:${routeId}`, agentId);
    const res = await worker(twilioRequest(`/api/webhooks/twilio/${routeId}`, voiceParams({ To: uniqueNumber() })));
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it("accepts a request signed with the secondary auth token during a rotation", async () => {
    const { to } = await mappedNumber();
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }), { token: TEST_TWILIO_AUTH_TOKEN_SECONDARY }));
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
  });

  it("answers with the whole document first, then writes its log line and stores the answer on the line", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to });
    const logs = captureLogs();
    const ctx = createExecutionContext();
    const res = await entry.fetch(twilioRequest("/api/webhooks/twilio", params), env as Bindings, ctx);
    // Checked before anything else is awaited: the follow-ups wait for a turn of the event loop.
    expect(logs().filter((line) => line.event === "twilio.voice")).toEqual([]);
    expect(sipUri(await res.text())).toMatch(/^sip:call_/);
    await waitOnExecutionContext(ctx);
    expect(logs().filter((line) => line.event === "twilio.voice")).toMatchObject([{ outcome: "connected" }]);
    expect((await lineRecord(to, params.CallSid as string))?.outcome).toBe("connected");
  });

  it("answers a dry run with SIP TwiML and registers nothing", async () => {
    const { to, agentId } = await mappedNumber();
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to, BridgeDryRun: "1" })));
    expect(sipUri(await res.text())).toBe("sip:dry_run@sip.retellai.com;transport=tcp");
    expect(await retellRequests(agentId)).toHaveLength(0);
  });
});

describe("when Retell fails", () => {
  it.each([
    ["answers 500 every time", { status: 500 }],
    ["rejects the request (422)", { status: 422 }],
    ["drops the connection every time", { mode: "drop" as const }],
    ["answers without a call_id", { mode: "no_call_id" as const }],
    ["does not answer within the budget", { mode: "hang" as const }],
  ])("dials the agent's fallback number when Retell %s", async (_name, behaviour) => {
    const { to, agentId } = await mappedNumber((id) => JSON.stringify({ retellAgentId: id, fallbackNumber: "+61390000000" }));
    await setRetellBehaviour(agentId, behaviour);
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    const doc = parseTwiml(await res.text());
    expect(res.status).toBe(200);
    expect(doc.getElementsByTagName("Number")[0]?.textContent).toBe("+61390000000");
    expect(doc.getElementsByTagName("Sip")).toHaveLength(0);
  });

  it("apologises and hangs up when the agent has no fallback number", async () => {
    const { to, agentId } = await mappedNumber();
    await setRetellBehaviour(agentId, { status: 503 });
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    const doc = parseTwiml(await res.text());
    expect(res.status).toBe(200);
    expect(doc.getElementsByTagName("Say")[0]?.textContent).toBe(APOLOGY_MESSAGE);
    expect(doc.getElementsByTagName("Hangup")).toHaveLength(1);
  });

  it("apologises when RETELL_API_KEY is not set, and logs which secret is missing", async () => {
    const { to } = await mappedNumber();
    const errors = vi.spyOn(console, "error");
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { RETELL_API_KEY: "" });
    expect(parseTwiml(res.text).getElementsByTagName("Say")[0]?.textContent).toBe(APOLOGY_MESSAGE);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(errors.mock.calls.flat().join("\n")).toContain('"secret":"RETELL_API_KEY"');
  });
});

describe("when no agent can serve the number", () => {
  it.each([
    ["no entry for the number", (): string | null => null],
    ["an entry without retellAgentId", () => JSON.stringify({ name: "Front desk" })],
    ["a malformed entry", () => "{not json"],
  ])("says the number is not in service and hangs up (%s), with no Retell call", async (_name, value) => {
    const to = uniqueNumber();
    const stored = value();
    if (stored !== null) await env.AGENTS.put(to, stored);
    const fetchSpy = vi.spyOn(globalThis, "fetch");
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })));
    const doc = parseTwiml(await res.text());
    expect(res.status).toBe(200);
    expect(doc.getElementsByTagName("Say")[0]?.textContent).toBe(NOT_IN_SERVICE_MESSAGE);
    expect(doc.getElementsByTagName("Hangup")).toHaveLength(1);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it.each([
    ["agent_not_found", (): string | null => null],
    ["agent_missing_retell_id", () => "{}"],
    ["agent_config_invalid", () => "{not json"],
  ])("logs the reason %s", async (reason, value) => {
    const to = uniqueNumber();
    const stored = value();
    if (stored !== null) await env.AGENTS.put(to, stored);
    const warn = vi.spyOn(console, "warn");
    await (await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })))).text();
    const line = warn.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>).find((l) => l.event === "twilio.voice");
    expect(line).toMatchObject({ outcome: reason });
  });
});

describe("requests that are not Twilio's", () => {
  it.each([
    ["no signature", { "X-Twilio-Signature": "" }],
    ["a wrong signature", { "X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbA==" }],
  ])("are refused with 403 when they carry %s, and never reach Retell", async (_name, headers) => {
    const { to, agentId } = await mappedNumber();
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }), { headers }));
    expect(res.status).toBe(403);
    expect(await retellRequests(agentId)).toHaveLength(0);
  });

  it("refuses a body changed after signing", async () => {
    const { to, agentId } = await mappedNumber();
    const signed = twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }));
    const tampered = new Request(signed, { body: (await signed.text()).replace("From=%2B1415", "From=%2B1900") });
    expect((await worker(tampered)).status).toBe(403);
    expect(await retellRequests(agentId)).toHaveLength(0);
  });

  it("refuses a request signed with another token, logging a warning without the token", async () => {
    const { to } = await mappedNumber();
    const warn = vi.spyOn(console, "warn");
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }), { token: "not_the_token" }));
    expect(res.status).toBe(403);
    const logged = warn.mock.calls.flat().join("\n");
    expect(logged).toContain("twilio.signature_rejected");
    expect(logged).not.toContain(TEST_TWILIO_AUTH_TOKEN);
  });

  it("fails closed with 500 when TWILIO_AUTH_TOKEN is not set, naming the missing secret in the log", async () => {
    const { to, agentId } = await mappedNumber();
    const errors = vi.spyOn(console, "error");
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { TWILIO_AUTH_TOKEN: "" });
    expect(res.status).toBe(500);
    expect(res.text).not.toContain("TWILIO_AUTH_TOKEN");
    expect(errors.mock.calls.flat().join("\n")).toContain('"secret":"TWILIO_AUTH_TOKEN"');
    expect(await retellRequests(agentId)).toHaveLength(0);
  });

  it("answers 413 to a body over 64 KiB", async () => {
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ Padding: "x".repeat(65 * 1024) })));
    expect(res.status).toBe(413);
  });

  it("answers 413 to a streamed body over 64 KiB without a Content-Length", async () => {
    const chunk = new TextEncoder().encode("a=" + "x".repeat(16 * 1024));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 5; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const res = await worker(
      new Request(`${ORIGIN}/api/webhooks/twilio`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x" },
        body,
      }),
    );
    expect(res.status).toBe(413);
  });

  it.each(["application/json", "text/plain", "multipart/form-data; boundary=x"])("answers 415 to a %s body", async (type) => {
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams(), { headers: { "Content-Type": type } }));
    expect(res.status).toBe(415);
  });

  it.each(["CallSid", "From", "To"])("answers 400 to a signed request without %s, with no Retell call", async (name) => {
    const { to, agentId } = await mappedNumber();
    const params = voiceParams({ To: to });
    delete params[name];
    const res = await worker(twilioRequest("/api/webhooks/twilio", params));
    expect(res.status).toBe(400);
    expect(await retellRequests(agentId)).toHaveLength(0);
  });
});

describe("WEBHOOK_BASE_URL", () => {
  it("checks the signature against the public origin Twilio called, with the request's own path and query", async () => {
    const { to } = await mappedNumber();
    const params = voiceParams({ To: to });
    const request = twilioRequest("/api/webhooks/twilio?region=au", params, {
      signedUrl: "https://calls.example.com/api/webhooks/twilio?region=au",
    });
    const res = await withBindings(request, { WEBHOOK_BASE_URL: "https://calls.example.com" });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
  });

  it("fails closed with 500 while it is plain http to another host, naming the var in the log", async () => {
    const { to, agentId } = await mappedNumber();
    const errors = vi.spyOn(console, "error");
    const request = twilioRequest("/api/webhooks/twilio", voiceParams({ To: to }), { signedUrl: "http://calls.example.com/api/webhooks/twilio" });
    const res = await withBindings(request, { WEBHOOK_BASE_URL: "http://calls.example.com" });
    expect(res.status).toBe(500);
    expect(errors.mock.calls.flat().join("\n")).toContain('"var":"WEBHOOK_BASE_URL"');
    expect(await retellRequests(agentId)).toHaveLength(0);
  });

  it("refuses a signature over the Worker's own origin when a different public origin is configured", async () => {
    const { to } = await mappedNumber();
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { WEBHOOK_BASE_URL: "https://calls.example.com" });
    expect(res.status).toBe(403);
  });

  it("fails closed with 500 when it is not a bare origin", async () => {
    const { to } = await mappedNumber();
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { WEBHOOK_BASE_URL: "https://calls.example.com/api" });
    expect(res.status).toBe(500);
  });
});

describe("the log line", () => {
  it("is one JSON line with the CallSid, agent, Retell call id, outcome and timings, and masked numbers", async () => {
    const { to, agentId } = await mappedNumber();
    const info = vi.spyOn(console, "log");
    const params = voiceParams({ To: to, From: "+14155550123" });
    const text = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
    const lines = info.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>).filter((l) => l.event === "twilio.voice");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      callSid: params.CallSid,
      retellAgentId: agentId,
      retellCallId: sipUri(text)?.slice(4, -"@sip.retellai.com;transport=tcp".length),
      outcome: "connected",
      from: "+*******0123",
      to: `+*******${to.slice(-4)}`,
    });
    expect(lines[0]).toHaveProperty("retellMs");
    expect(lines[0]).toHaveProperty("totalMs");
    const raw = info.mock.calls.flat().join("\n");
    expect(raw).not.toContain("+14155550123");
    expect(raw).not.toContain(to);
    expect(raw).not.toContain(TEST_RETELL_API_KEY);
  });
});

describe("GET /health", () => {
  it("answers 200 with the version and nothing else", async () => {
    const res = await worker(new Request(`${ORIGIN}/health`));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});
