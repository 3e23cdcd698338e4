/**
 * Spoofed callers and the consent notice through the Worker's real entry point: Twilio's StirVerstat recorded and
 * passed to Retell as `caller_verification`, `blockUnverified` rejecting, `maxCallSeconds` as the AI leg's
 * timeLimit, and the agent's notice before the Dial.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { recordOf } from "../records.ts";

async function mappedNumber(config: Record<string, unknown> = {}): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId("screen");
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { to, agentId };
}

async function call(to: string, params: Record<string, string> = {}): Promise<{ text: string; callSid: string }> {
  const voice = voiceParams({ To: to, ...params });
  const res = await worker(twilioRequest("/api/webhooks/twilio", voice));
  expect(res.status).toBe(200);
  return { text: await res.text(), callSid: voice.CallSid as string };
}

describe("StirVerstat", () => {
  it.each([
    ["TN-Validation-Passed-A", "passed-A"],
    ["TN-Validation-Passed-B", "passed-B"],
    ["TN-Validation-Passed-C", "passed-C"],
    ["TN-Validation-Failed-B", "failed"],
    ["TN-Validation-Failed", "failed"],
    ["No-TN-Validation", "none"],
    ["Something-New", "none"],
  ])("%s is recorded and reaches Retell as caller_verification %s", async (stirVerstat, verification) => {
    const { to, agentId } = await mappedNumber();
    const { text, callSid } = await call(to, { StirVerstat: stirVerstat });
    expect(sipUri(text)).toMatch(/^sip:call_/);
    const [request] = await retellRequests(agentId);
    expect((request?.body as { retell_llm_dynamic_variables: Record<string, string> }).retell_llm_dynamic_variables.caller_verification).toBe(verification);
    expect(await recordOf(callSid)).toMatchObject({ stir_verstat: stirVerstat });
  });

  it("absent: caller_verification is none and nothing is recorded", async () => {
    const { to, agentId } = await mappedNumber();
    const { callSid } = await call(to);
    const [request] = await retellRequests(agentId);
    expect((request?.body as { retell_llm_dynamic_variables: Record<string, string> }).retell_llm_dynamic_variables.caller_verification).toBe("none");
    expect(await recordOf(callSid)).toMatchObject({ stir_verstat: null });
  });

  it("a value not shaped like Twilio's is neither kept nor trusted", async () => {
    const { to, agentId } = await mappedNumber({ blockUnverified: "failed" });
    const { text, callSid } = await call(to, { StirVerstat: "TN-Validation-Passed-A<script>" });
    expect(sipUri(text)).toMatch(/^sip:call_/);
    const [request] = await retellRequests(agentId);
    expect((request?.body as { retell_llm_dynamic_variables: Record<string, string> }).retell_llm_dynamic_variables.caller_verification).toBe("none");
    expect(await recordOf(callSid)).toMatchObject({ stir_verstat: null });
  });

  it("caller_verification wins over an agent variable of the same name", async () => {
    const { to, agentId } = await mappedNumber({ dynamicVariables: { caller_verification: "passed-A" } });
    await call(to, { StirVerstat: "TN-Validation-Failed-A" });
    const [request] = await retellRequests(agentId);
    expect((request?.body as { retell_llm_dynamic_variables: Record<string, string> }).retell_llm_dynamic_variables.caller_verification).toBe("failed");
  });
});

describe("blockUnverified", () => {
  it.each([
    ["failed", "TN-Validation-Failed-A", true],
    ["failed", "TN-Validation-Passed-C", false],
    ["failed-or-C", "TN-Validation-Passed-C", true],
    ["failed-or-C", "TN-Validation-Passed-B", false],
    ["failed-or-C", "No-TN-Validation", false],
  ])("%s with %s: rejected is %s", async (blockUnverified, stirVerstat, rejected) => {
    const { to, agentId } = await mappedNumber({ blockUnverified });
    const { text, callSid } = await call(to, { StirVerstat: stirVerstat });
    if (rejected) {
      expect(text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="rejected"/></Response>');
      expect(await retellRequests(agentId)).toHaveLength(0);
      expect(await recordOf(callSid)).toMatchObject({ outcome: "blocked", outcome_reason: "unverified", stir_verstat: stirVerstat });
    } else {
      expect(sipUri(text)).toMatch(/^sip:call_/);
    }
  });
});

describe("an unverified caller rejected", () => {
  it("is not counted against the caller's rate limit (3 a minute)", async () => {
    const { to } = await mappedNumber({ blockUnverified: "failed" });
    const caller = "+14155550177";
    for (let i = 0; i < 4; i++) expect((await call(to, { From: caller, StirVerstat: "TN-Validation-Failed-A" })).text).toContain("<Reject");
    expect(sipUri((await call(to, { From: caller, StirVerstat: "TN-Validation-Passed-A" })).text)).toMatch(/^sip:call_/);
  });
});

describe("maxCallSeconds and the consent notice", () => {
  it("dials the AI leg with timeLimit", async () => {
    const { to } = await mappedNumber({ maxCallSeconds: 900 });
    const { text } = await call(to);
    expect(text).toMatch(/<Dial [^>]*timeLimit="900"[^>]*><Sip>/);
  });

  it("leaves timeLimit out without maxCallSeconds (Twilio's default)", async () => {
    const { to } = await mappedNumber();
    expect((await call(to)).text).not.toContain("timeLimit");
  });

  it("says the notice, escaped, before the Dial, and records the call as announced", async () => {
    const { to } = await mappedNumber({ announce: { text: `Recorded & <b>handled</b> by "AI"`, voice: "Polly.Joanna" } });
    const { text, callSid } = await call(to);
    expect(text).toMatch(/<Response><Say voice="Polly\.Joanna">Recorded &amp; &lt;b&gt;handled&lt;\/b&gt; by &quot;AI&quot;<\/Say><Dial /);
    expect(await recordOf(callSid)).toMatchObject({ outcome: "connected", announced: 1 });
  });

  it("plays a notice URL before the Dial", async () => {
    const { to } = await mappedNumber({ announce: { url: "https://example.com/notice.mp3" } });
    expect((await call(to)).text).toMatch(/<Response><Play>https:\/\/example\.com\/notice\.mp3<\/Play><Dial /);
  });

  it("plays no notice and records none when the call does not reach the agent", async () => {
    const { to, agentId } = await mappedNumber({ announce: { text: "Recorded." }, fallbackNumber: "+61390000001" });
    await setRetellBehaviour(agentId, { status: 422 });
    const { text, callSid } = await call(to);
    expect(text).not.toContain("Recorded.");
    expect(await recordOf(callSid)).toMatchObject({ outcome: "fallback_dialed", announced: 0 });
  });
});
