/**
 * The routing rules through the Worker's real entry point: what Twilio gets back, what Retell receives (nothing,
 * when a rule stops the call), the call record and the log. The rules themselves are tested without Hono in
 * test/rules/. Schedules here are open or closed at every hour, so no test depends on when it runs.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { NOT_IN_SERVICE_MESSAGE, RATE_LIMITED_MESSAGE } from "../../src/calls/outcome.ts";
import { BLOCKLIST_KEY } from "../../src/rules/blocklist.ts";
import { CLOSED_MESSAGE } from "../../src/rules/decide.ts";
import { DRY_RUN_PARAM } from "../../src/twilio/params.ts";
import { retellRequests, sipUri, twilioRequest, uniqueAgentId, uniqueCaller, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { recordOf, withBindings } from "../records.ts";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ALWAYS_OPEN = { timeZone: "Australia/Melbourne", hours: Object.fromEntries(DAYS.map((d) => [d, ["00:00-24:00"]])) };
const ALWAYS_CLOSED = { timeZone: "Australia/Melbourne", hours: {} };
const BLOCKED_CALLER = "+61400000666";
const AFTER_HOURS_NUMBER = "+61390001111";

async function mappedNumber(config: Record<string, unknown> = {}): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId("rules");
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { to, agentId };
}

async function call(to: string, params: Record<string, string> = {}): Promise<{ text: string; callSid: string }> {
  const voice = voiceParams({ To: to, ...params });
  const res = await worker(twilioRequest("/api/webhooks/twilio", voice));
  expect(res.status).toBe(200);
  return { text: await res.text(), callSid: voice.CallSid as string };
}

function logLines(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>).filter((line) => line.event === event);
}

// A counting test may run twice (below), 61 calls each on a loaded machine.
vi.setConfig({ testTimeout: 90_000 });

/** The local limiter's windows: a minute, aligned to the minute. */
const WINDOW_MS = 60_000;

/**
 * Runs a counting test's calls inside one of the limiter's windows. A run that crossed a window's edge (a slow
 * machine, or a start late in the minute) saw its counts reset, so it runs again, now from a window's start.
 */
async function inOneWindow<T>(calls: () => Promise<T>): Promise<T> {
  for (;;) {
    const window = Math.floor(Date.now() / WINDOW_MS);
    const result = await calls();
    if (Math.floor(Date.now() / WINDOW_MS) === window) return result;
  }
}

beforeAll(async () => {
  await env.AGENTS.put(BLOCKLIST_KEY, JSON.stringify([BLOCKED_CALLER, "+1900*"]));
  clearAgentMemo();
});

afterEach(() => vi.restoreAllMocks());

describe("a blocked caller", () => {
  it.each([
    ["on the global blocklist by number", {}, BLOCKED_CALLER, "global_blocklist"],
    ["on the global blocklist by prefix", {}, "+19005550123", "global_blocklist"],
    ["withheld, with the agent blocking anonymous callers", { blockedCallers: ["anonymous"] }, "anonymous", "agent_blocklist"],
  ])("%s is rejected, registers nothing and is recorded as blocked", async (_name, config, from, reason) => {
    const { to, agentId } = await mappedNumber(config);
    const { text, callSid } = await call(to, { From: from });
    expect(text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="rejected"/></Response>');
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(await recordOf(callSid)).toMatchObject({ outcome: "blocked", outcome_reason: reason, retell_agent_id: agentId, retell_call_id: null });
  });
});

describe("a malformed global blocklist", () => {
  it("lets calls through and logs rules.blocklist_invalid", async () => {
    const { to } = await mappedNumber();
    await env.AGENTS.put(BLOCKLIST_KEY, '["+1900*", "not a number"]');
    clearAgentMemo();
    const error = vi.spyOn(console, "error");
    try {
      const { text } = await call(to, { From: "+19005550123" });
      expect(sipUri(text)).toMatch(/^sip:call_/);
      expect(logLines(error, "rules.blocklist_invalid")[0]).toMatchObject({ detail: expect.stringContaining("rules:blocked[1]") });
    } finally {
      await env.AGENTS.put(BLOCKLIST_KEY, JSON.stringify([BLOCKED_CALLER, "+1900*"]));
      clearAgentMemo();
    }
  });
});

describe("the rate limits", () => {
  it("stops a caller's fourth call in a minute with a sentence, registers nothing for it, and records rate_limited", async () => {
    const warn = vi.spyOn(console, "warn");
    const { agentId, answers } = await inOneWindow(async () => {
      const { to, agentId } = await mappedNumber();
      const from = uniqueCaller();
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await call(to, { From: from }));
      return { agentId, answers };
    });
    expect(answers.slice(0, 3).map((a) => sipUri(a.text))).toEqual([expect.stringMatching(/^sip:call_/), expect.stringMatching(/^sip:call_/), expect.stringMatching(/^sip:call_/)]);
    expect(answers[3]?.text).toContain(`<Say>${RATE_LIMITED_MESSAGE}</Say><Hangup/>`);
    expect(await retellRequests(agentId)).toHaveLength(3);
    expect(await recordOf(answers[3]?.callSid as string, (row) => row.outcome !== null)).toMatchObject({ outcome: "rate_limited", outcome_reason: "caller_rate_limit" });
    expect(logLines(warn, "twilio.voice").at(-1)).toMatchObject({ outcome: "rate_limited", reason: "caller_rate_limit" });
  });

  it("stops the 61st call to one number in a minute, whoever calls", async () => {
    const texts = await inOneWindow(async () => {
      const { to } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, afterHours: { say: "Closed." } } });
      const texts: string[] = [];
      for (let i = 0; i < 61; i++) texts.push((await call(to)).text);
      return texts;
    });
    expect(texts.slice(0, 60).every((t) => t.includes("<Say>Closed.</Say>"))).toBe(true);
    expect(texts[60]).toContain(`<Say>${RATE_LIMITED_MESSAGE}</Say>`);
  });

  it("does not count a blocked caller's calls", async () => {
    const { rejected, unblocked } = await inOneWindow(async () => {
      const { to, agentId } = await mappedNumber({ blockedCallers: ["+61400000777"] });
      const rejected: string[] = [];
      for (let i = 0; i < 4; i++) rejected.push((await call(to, { From: "+61400000777" })).text);
      await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId }));
      clearAgentMemo();
      return { rejected, unblocked: (await call(to, { From: "+61400000777" })).text };
    });
    for (const text of rejected) expect(text).toContain("<Reject");
    expect(sipUri(unblocked)).toMatch(/^sip:call_/);
  });

  it("does not count dry runs (npm run doctor), which get the rules' answer all the same", async () => {
    const { dryRuns, closedAnswer } = await inOneWindow(async () => {
      const { to } = await mappedNumber();
      const from = uniqueCaller();
      const dryRuns: string[] = [];
      for (let i = 0; i < 4; i++) dryRuns.push((await call(to, { From: from, [DRY_RUN_PARAM]: "1" })).text);
      const closed = await mappedNumber({ schedule: ALWAYS_CLOSED });
      return { dryRuns, closedAnswer: (await call(closed.to, { From: from, [DRY_RUN_PARAM]: "1" })).text };
    });
    for (const text of dryRuns) expect(sipUri(text)).toMatch(/^sip:dry_run@/);
    expect(closedAnswer).toContain(`<Say>${CLOSED_MESSAGE}</Say>`);
  });

  it("lets the call through when a rate-limit binding fails, and logs it", async () => {
    const { to } = await mappedNumber();
    const error = vi.spyOn(console, "error");
    const broken = { limit: () => Promise.reject(new Error("binding unavailable")) } as unknown as RateLimit;
    const res = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to })), { CALLER_RATE_LIMITER: broken });
    expect(sipUri(res.text)).toMatch(/^sip:call_/);
    expect(logLines(error, "rules.rate_limiter_failed")[0]).toMatchObject({ binding: "CALLER_RATE_LIMITER", detail: "binding unavailable" });
  });
});

describe("opening hours", () => {
  it("connects during opening hours and tells Retell after_hours is false, over the agent's own variable", async () => {
    const { to, agentId } = await mappedNumber({ schedule: ALWAYS_OPEN, dynamicVariables: { office: "North", after_hours: "maybe" } });
    expect(sipUri((await call(to)).text)).toMatch(/^sip:call_/);
    const [registration] = await retellRequests(agentId);
    expect(registration?.body).toMatchObject({ retell_llm_dynamic_variables: { office: "North", after_hours: "false" } });
  });

  it("sends a call after hours to the after-hours agent, which Retell is told about, with that agent's dial action", async () => {
    const nightAgent = uniqueAgentId("night");
    const routeId = `night-${nightAgent.slice(-6)}`;
    await env.AGENTS.put(`agent:${routeId}`, nightAgent);
    const { to, agentId } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, afterHours: { agent: routeId } } });
    const { text, callSid } = await call(to);
    const [registration] = await retellRequests(nightAgent);
    expect(sipUri(text)).toBe(`sip:${registration?.callId}@sip.retellai.com;transport=tcp`);
    expect(text).toContain(`agent=agent%3A${routeId}&amp;leg=retell`);
    expect(registration?.body).toMatchObject({ agent_id: nightAgent, retell_llm_dynamic_variables: { after_hours: "true" } });
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(await recordOf(callSid)).toMatchObject({ outcome: "connected", outcome_reason: "after_hours", agent_key: `agent:${routeId}`, retell_agent_id: nightAgent });
  });

  it("lets the after-hours agent take the call without applying its own rules again", async () => {
    const nightAgent = uniqueAgentId("night");
    const routeId = `night-${nightAgent.slice(-6)}`;
    await env.AGENTS.put(`agent:${routeId}`, JSON.stringify({ retellAgentId: nightAgent, schedule: { ...ALWAYS_CLOSED, afterHours: { say: "Closed too." } } }));
    const { to } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, afterHours: { agent: routeId } } });
    expect(sipUri((await call(to)).text)).toMatch(/^sip:call_/);
    expect(await retellRequests(nightAgent)).toHaveLength(1);
  });

  it("dials the after-hours number with a <Dial action> as for fallbacks, registering nothing", async () => {
    const { to, agentId } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, afterHours: { number: AFTER_HOURS_NUMBER } } });
    const { text, callSid } = await call(to);
    expect(text).toMatch(new RegExp(`<Dial answerOnBridge="true" action="[^"]*leg=fallback&amp;end=1"><Number>\\${AFTER_HOURS_NUMBER}</Number></Dial>`));
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(await recordOf(callSid)).toMatchObject({ outcome: "after_hours", outcome_reason: "after_hours" });
  });

  it.each([
    ["its after-hours sentence", { afterHours: { say: "We open at 9 & close at 5." } }, "We open at 9 &amp; close at 5."],
    ["the closed message without an after-hours target", {}, CLOSED_MESSAGE],
  ])("says %s after hours and hangs up, registering nothing", async (_name, extra, said) => {
    const { to, agentId } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, ...extra } });
    const { text } = await call(to);
    expect(text).toBe(`<?xml version="1.0" encoding="UTF-8"?><Response><Say>${said}</Say><Hangup/></Response>`);
    expect(await retellRequests(agentId)).toHaveLength(0);
  });

  it("answers not in service when the after-hours agent is not stored, logging which key", async () => {
    const { to, agentId } = await mappedNumber({ schedule: { ...ALWAYS_CLOSED, afterHours: { agent: "nobody-here" } } });
    const warn = vi.spyOn(console, "warn");
    const { text } = await call(to);
    expect(text).toContain(`<Say>${NOT_IN_SERVICE_MESSAGE}</Say>`);
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(logLines(warn, "twilio.voice").at(-1)).toMatchObject({ outcome: "agent_not_found", detail: expect.stringContaining("agent:nobody-here") });
  });

  it("answers not in service for a schedule written wrongly by hand, logging the field", async () => {
    const { to, agentId } = await mappedNumber({ schedule: { timeZone: "Mars/Base", hours: {} } });
    const warn = vi.spyOn(console, "warn");
    expect((await call(to)).text).toContain(`<Say>${NOT_IN_SERVICE_MESSAGE}</Say>`);
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(logLines(warn, "twilio.voice").at(-1)).toMatchObject({ outcome: "agent_config_invalid", detail: expect.stringContaining("schedule.timeZone") });
  });
});

describe("allowed callers", () => {
  it("connects a caller on the list", async () => {
    const { to } = await mappedNumber({ allowedCallers: ["+61400000555"] });
    expect(sipUri((await call(to, { From: "+61400000555" })).text)).toMatch(/^sip:call_/);
  });

  it("gives anyone else the closed message, registering nothing, recorded as caller_not_allowed", async () => {
    const { to, agentId } = await mappedNumber({ allowedCallers: ["+61400000555"] });
    const { text, callSid } = await call(to);
    expect(text).toContain(`<Say>${CLOSED_MESSAGE}</Say>`);
    expect(await retellRequests(agentId)).toHaveLength(0);
    expect(await recordOf(callSid)).toMatchObject({ outcome: "after_hours", outcome_reason: "caller_not_allowed" });
  });
});
