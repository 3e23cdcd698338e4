/**
 * Callers whose `From` is not a phone number (withheld caller ids, Twilio Client, SIP): still callers. Retell
 * documents `from_number` as E.164, so it gets none; the raw value stays in the `caller_number` dynamic variable.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retellRequests, sipUri, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";

/** What Twilio sends as `From` for a withheld caller id, a Twilio Client and a SIP caller (twilio-retell-protocols.md §2.1). */
const NOT_NUMBERS = ["anonymous", "restricted", "unknown", "Anonymous", "client:alice", "sip:alice@example.com"];

async function callFrom(from: string, options: { to?: string; path?: string } = {}) {
  const agentId = uniqueAgentId("caller");
  const to = options.to ?? uniqueNumber();
  const path = options.path ?? "/api/webhooks/twilio";
  await env.AGENTS.put(path === "/api/webhooks/twilio" ? to : `agent:${path.split("/").pop()}`, agentId);
  const res = await worker(twilioRequest(path, voiceParams({ From: from, To: to })));
  return { agentId, to, status: res.status, twiml: await res.text(), requests: await retellRequests(agentId) };
}

describe("a caller whose From is not an E.164 number", () => {
  it.each(NOT_NUMBERS)("is connected to Retell over SIP (From %j)", async (from) => {
    const { status, twiml, requests } = await callFrom(from);
    expect(status).toBe(200);
    expect(sipUri(twiml)).toBe(`sip:${requests[0]?.callId}@sip.retellai.com;transport=tcp`);
  });

  it.each(NOT_NUMBERS)("is registered without from_number, the raw From kept in caller_number (From %j)", async (from) => {
    const { to, requests } = await callFrom(from);
    expect(requests).toHaveLength(1);
    const body = requests[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("from_number");
    expect(body).toMatchObject({ to_number: to, retell_llm_dynamic_variables: { caller_number: from, called_number: to } });
  });
});

describe("a call whose To is not an E.164 number", () => {
  it("is registered on the per-agent route without to_number, the raw To kept in called_number", async () => {
    const to = "sip:front@bridge.sip.twilio.com";
    const { requests } = await callFrom("+14155550100", { to, path: `/api/webhooks/twilio/front-${uniqueAgentId().slice(-8)}` });
    expect(requests).toHaveLength(1);
    const body = requests[0]?.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("to_number");
    expect(body).toMatchObject({ from_number: "+14155550100", retell_llm_dynamic_variables: { caller_number: "+14155550100", called_number: to } });
  });
});
