/**
 * Replays of a voice webhook once its answer is stored: answered from the stored answer, never decided again
 * (no registration, no rate-limit count, no rewritten outcome), even after the line has forgotten the call; a
 * failed answer may be made again only within Twilio's 15 s webhook timeout.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import { REANSWER_WINDOW_MS } from "../../src/line/answers.ts";
import { retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueCaller, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { lineRecord, readCall, recordOf } from "../records.ts";

const ALWAYS_CLOSED = { timeZone: "Australia/Melbourne", hours: {} };

async function mapped(config: Record<string, unknown> = {}): Promise<{ to: string; agentId: string }> {
  const to = uniqueNumber();
  const agentId = uniqueAgentId("replay");
  await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { to, agentId };
}

async function send(params: Record<string, string>): Promise<string> {
  return (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
}

const registrations = async (agentId: string) => (await retellRequests(agentId)).filter((r) => r.path === "/v2/register-phone-call");

/** Runs SQL on a line's object (to forget a call, or age an answer, without waiting days). */
function onLine(line: string, query: string, ...params: SqlStorageValue[]): Promise<void> {
  return runInDurableObject(lineStub(env, line), (_, state) => {
    state.storage.sql.exec(query, ...params);
  });
}

describe("a replay after the line has forgotten the call", () => {
  it("is answered with the stored SIP TwiML, registers nothing and leaves the call's D1 row as it was", async () => {
    const { to, agentId } = await mapped();
    const params = voiceParams({ To: to });
    const first = await send(params);
    const row = await recordOf(params.CallSid as string);
    await onLine(to, "DELETE FROM calls WHERE call_sid = ?", params.CallSid as string);
    const replay = await send(params);
    expect(sipUri(replay)).toBe(sipUri(first));
    expect(await registrations(agentId)).toHaveLength(1);
    expect(await readCall(params.CallSid as string)).toEqual(row);
  });
});

describe("a replay of an answer that did not connect", () => {
  it("is answered the same and not counted against the caller's rate limit", async () => {
    const { to } = await mapped({ schedule: { ...ALWAYS_CLOSED, afterHours: { say: "Closed." } } });
    const caller = uniqueCaller();
    const params = voiceParams({ To: to, From: caller });
    const first = await send(params);
    for (let i = 0; i < 4; i++) expect(await send(params)).toBe(first);
    const later = await send(voiceParams({ To: to, From: caller }));
    expect(later).toContain("Closed.");
  });

  it("keeps the stored outcome, even when the rules would now decide otherwise", async () => {
    const { to } = await mapped({ schedule: { ...ALWAYS_CLOSED, afterHours: { say: "Closed." } } });
    const params = voiceParams({ To: to });
    await send(params);
    const open = uniqueAgentId("now-open");
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: open }));
    clearAgentMemo();
    expect(await send(params)).toContain("Closed.");
    expect(await registrations(open)).toHaveLength(0);
    expect((await lineRecord(to, params.CallSid as string))?.outcome).toBe("after_hours");
  });

  it("of a failed registration registers again within 15 s (Twilio retrying an answer it never got)", async () => {
    const { to, agentId } = await mapped();
    await setRetellBehaviour(agentId, { status: 500, times: 10 });
    const params = voiceParams({ To: to });
    await send(params);
    await setRetellBehaviour(agentId, {});
    const before = (await registrations(agentId)).length;
    expect(sipUri(await send(params))).not.toBeNull();
    expect((await registrations(agentId)).length).toBe(before + 1);
  });

  it("of a failed registration registers nothing after 15 s", async () => {
    const { to, agentId } = await mapped();
    await setRetellBehaviour(agentId, { status: 500, times: 10 });
    const params = voiceParams({ To: to });
    const first = await send(params);
    await setRetellBehaviour(agentId, {});
    await onLine(to, "UPDATE answers SET answered_at = answered_at - ? WHERE call_sid = ?", REANSWER_WINDOW_MS + 1, params.CallSid as string);
    const before = (await registrations(agentId)).length;
    expect(await send(params)).toBe(first);
    expect(await registrations(agentId)).toHaveLength(before);
  });
});
