/**
 * Every shape of Retell agent id answers calls: `agent_…`, the older 32 letters and digits with no prefix, and
 * any other of letters, digits, `_` and `-`, as a bare KV value, as `retellAgentId` and on the per-agent route.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { NOT_IN_SERVICE_MESSAGE } from "../../src/calls/outcome.ts";
import { retellRequests, sipUri, twilioRequest, uniqueNumber, voiceParams, worker } from "../helpers.ts";

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** A fresh id in Retell's older shape, like its API reference's `oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD`. */
const legacyId = () => Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join("");
const suffix = () => legacyId().slice(0, 8);

/** Id shapes, each made fresh per test so the stand-in's record of it is the test's own. */
const SHAPES: [string, () => string][] = [
  ["a 32-character id without prefix", legacyId],
  ["an agent_ id with _ after the prefix", () => `agent_front_desk_${suffix()}`],
  ["an id with -", () => `agent-${suffix()}-north`],
];

async function call(path: string, to: string) {
  const res = await worker(twilioRequest(path, voiceParams({ To: to })));
  return { status: res.status, twiml: await res.text() };
}

describe("a number mapped to", () => {
  it.each(SHAPES)("%s as a bare value is connected to that Retell agent", async (_name, id) => {
    const agentId = id();
    const to = uniqueNumber();
    await env.AGENTS.put(to, agentId);
    const { twiml } = await call("/api/webhooks/twilio", to);
    const requests = await retellRequests(agentId);
    expect(requests.map((r) => (r.body as { agent_id: string }).agent_id)).toEqual([agentId]);
    expect(sipUri(twiml)).toBe(`sip:${requests[0]?.callId}@sip.retellai.com;transport=tcp`);
  });

  it.each(SHAPES)("%s as retellAgentId is connected to that Retell agent", async (_name, id) => {
    const agentId = id();
    const to = uniqueNumber();
    await env.AGENTS.put(to, JSON.stringify({ retellAgentId: agentId, name: "Front desk" }));
    const { twiml } = await call("/api/webhooks/twilio", to);
    const requests = await retellRequests(agentId);
    expect(requests).toHaveLength(1);
    expect(sipUri(twiml)).toBe(`sip:${requests[0]?.callId}@sip.retellai.com;transport=tcp`);
  });

  it.each([
    ["a phone number", "+61390001234"],
    ["a phone number without +", "61390001234"],
    ["an id with a space", "agent_front desk"],
  ])("%s answers not in service and reaches no agent", async (_name, value) => {
    const to = uniqueNumber();
    await env.AGENTS.put(to, value);
    const { twiml } = await call("/api/webhooks/twilio", to);
    expect(twiml).toContain(NOT_IN_SERVICE_MESSAGE);
    expect(await retellRequests(value)).toHaveLength(0);
  });
});

describe("the per-agent route", () => {
  it.each(SHAPES)("serves %s as the route id and as the agent", async (_name, id) => {
    const agentId = id();
    await env.AGENTS.put(`agent:${agentId}`, agentId);
    const { twiml } = await call(`/api/webhooks/twilio/${agentId}`, uniqueNumber());
    const requests = await retellRequests(agentId);
    expect(requests).toHaveLength(1);
    expect(sipUri(twiml)).toBe(`sip:${requests[0]?.callId}@sip.retellai.com;transport=tcp`);
  });
});
