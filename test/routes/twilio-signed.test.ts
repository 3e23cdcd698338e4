/**
 * The Twilio webhook middleware refuses, on every Twilio route, a signed request whose identifiers are not
 * Twilio's (CallSid, AccountSid, ApiVersion, the dry-run flag): 400, nothing registered, nothing stored.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callSid, retellRequests, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams } from "../helpers.ts";
import { readCall, withBindings } from "../records.ts";

const FALLBACK = "+61390000077";

/** A mapped agent with a fallback number, so every route would act on a valid request: register, store or dial. */
async function agent(): Promise<{ agentId: string; to: string }> {
  const agentId = uniqueAgentId("ids");
  const to = uniqueNumber();
  const value = JSON.stringify({ retellAgentId: agentId, fallbackNumber: FALLBACK });
  await Promise.all([env.AGENTS.put(to, value), env.AGENTS.put(`agent:${agentId}`, value)]);
  return { agentId, to };
}

/** Each Twilio route, with the path and extra parameters a real request to it has. */
const ROUTES: [string, (a: { agentId: string; to: string }) => { path: string; extra: Record<string, string> }][] = [
  ["voice", () => ({ path: "/api/webhooks/twilio", extra: {} })],
  ["voice, per agent", ({ agentId }) => ({ path: `/api/webhooks/twilio/${agentId}`, extra: {} })],
  ["status", () => ({ path: "/api/webhooks/twilio/status", extra: { CallStatus: "completed", SequenceNumber: "3", CallDuration: "42" } })],
  [
    "dial-complete",
    ({ to }) => ({ path: `/api/webhooks/twilio/dial-complete?agent=${encodeURIComponent(to)}&leg=retell`, extra: { DialCallStatus: "failed", DialSipResponseCode: "503" } }),
  ],
];

/** Signed requests whose identifiers are wrong, and the parameter the answer names. */
const BAD: [string, (p: Record<string, string>) => Record<string, string>, string][] = [
  ["a short CallSid", (p) => ({ ...p, CallSid: "CA1234567890ABCDE" }), "CallSid"],
  ["CallStatus folded into CallSid", ({ CallStatus, ...p }) => ({ ...p, CallSid: `${p.CallSid}CallStatus${CallStatus}` }), "CallSid"],
  ["no CallSid", ({ CallSid: _, ...p }) => p, "CallSid"],
  ["an AccountSid that is not AC and 32 hex digits", (p) => ({ ...p, AccountSid: "AC123" }), "AccountSid"],
  ["another ApiVersion", (p) => ({ ...p, ApiVersion: "2008-08-01" }), "ApiVersion"],
  ["the dry-run flag folded into ApiVersion", (p) => ({ ...p, ApiVersion: "2010-04-01BridgeDryRun1" }), "ApiVersion"],
  ["a dry-run flag other than 1", (p) => ({ ...p, BridgeDryRun: "true" }), "BridgeDryRun"],
];

const CASES = ROUTES.flatMap(([route, at]) => BAD.map(([bad, change, param]) => [route, bad, at, change, param] as const));

afterEach(() => vi.restoreAllMocks());

describe("a signed request with identifiers that are not Twilio's", () => {
  it.each(CASES)("%s: %s is refused with 400 naming the parameter; nothing is registered or stored", async (_route, _bad, at, change, param) => {
    const mapped = await agent();
    const { path, extra } = at(mapped);
    const sid = callSid();
    const params = change({ ...voiceParams({ To: mapped.to, CallSid: sid }), ...extra });
    const { status, text } = await withBindings(twilioRequest(path, params), {});
    expect(status).toBe(400);
    expect(JSON.parse(text)).toEqual({ error: "bad_request", message: expect.stringMatching(new RegExp(`^${param} must be `)) });
    expect(await retellRequests(mapped.agentId)).toHaveLength(0);
    expect(await readCall(sid)).toBeNull();
    if (params.CallSid !== undefined) expect(await readCall(params.CallSid)).toBeNull();
  });

  it("is logged as twilio.params_rejected with the parameter's name and never its value", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => void lines.push(line));
    const { to } = await agent();
    const folded = `${callSid()}Caller+14155550123`;
    await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ To: to, CallSid: folded })), {});
    const rejected = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "twilio.params_rejected");
    expect(rejected).toMatchObject({ level: "warn", status: 400, param: "CallSid" });
    expect(lines.join("\n")).not.toContain("14155550123");
  });
});

describe("a signed request with Twilio's identifiers", () => {
  it.each(ROUTES)("%s: is served", async (_route, at) => {
    const mapped = await agent();
    const { path, extra } = at(mapped);
    const { status } = await withBindings(twilioRequest(path, { ...voiceParams({ To: mapped.to }), ...extra }), {});
    expect(status).toBeLessThan(300);
  });

  it("is served without the optional AccountSid and ApiVersion", async () => {
    const mapped = await agent();
    const { AccountSid: _a, ApiVersion: _v, ...params } = voiceParams({ To: mapped.to });
    const { status } = await withBindings(twilioRequest("/api/webhooks/twilio", params), {});
    expect(status).toBe(200);
    expect(await retellRequests(mapped.agentId)).toHaveLength(1);
  });
});
