/**
 * A call taken by another agent than the number's own (the after-hours agent, or the one a caller not on
 * `allowedCallers` is sent to): its transfers, its interrupted AI leg and its way back after an unanswered
 * transfer all belong to the agent that took the call, never to the number's own agent.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { retellRequests, twilioRequest, uniqueAgentId, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { lineRecord } from "../records.ts";
import { callUpdates, parseTwiml, transfer, transferResult, type TransferCall } from "../transfers.ts";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ALWAYS_OPEN = { timeZone: "Australia/Melbourne", hours: Object.fromEntries(DAYS.map((d) => [d, ["00:00-24:00"]])) };
const ALWAYS_CLOSED = { timeZone: "Australia/Melbourne", hours: {} };
const DAY_SALES = "+61390000001";
const NIGHT_DESK = "+61390000077";

/** A number whose own agent transfers to `sales`, and whose other agent (`agent:<id>`) transfers to `night`. */
async function nightCall(schedule: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<TransferCall & { nightKey: string; nightAgent: string }> {
  const line = uniqueNumber();
  const dayAgent = uniqueAgentId("day");
  const nightAgent = uniqueAgentId("night");
  const routeId = `night-${nightAgent}`;
  await env.AGENTS.put(`agent:${routeId}`, JSON.stringify({ retellAgentId: nightAgent, transfers: { night: NIGHT_DESK } }));
  await env.AGENTS.put(line, JSON.stringify({ retellAgentId: dayAgent, transfers: { sales: DAY_SALES }, schedule: { ...schedule, afterHours: { agent: routeId } }, ...extra }));
  const params = voiceParams({ To: line });
  const twiml = await (await worker(twilioRequest("/api/webhooks/twilio", params))).text();
  const registration = (await retellRequests(nightAgent)).find((r) => r.path === "/v2/register-phone-call" && r.callId);
  if (!registration?.callId) throw new Error("the night agent registered no call");
  const { metadata } = registration.body as { metadata: Record<string, unknown> };
  const sid = params.CallSid as string;
  const retell = { call_id: registration.callId, call_type: "phone_call", agent_id: nightAgent, call_status: "ongoing", metadata };
  return { params, sid, line, agentId: nightAgent, twiml, retellCallId: registration.callId, retell, record: () => lineRecord(line, sid), nightKey: `agent:${routeId}`, nightAgent };
}

describe.each([
  ["after hours", ALWAYS_CLOSED, {}],
  ["a caller not on allowedCallers", ALWAYS_OPEN, { allowedCallers: ["+61400000001"] }],
])("a call the other agent took (%s)", (_, schedule, extra) => {
  it("records the key of the agent that took it", async () => {
    const call = await nightCall(schedule, extra);
    expect((await call.record())?.agentKey).toBe(call.nightKey);
  });

  it("transfers to that agent's own destination", async () => {
    const call = await nightCall(schedule, extra);
    const { body } = await transfer(call, { destination: "night" });
    expect(body.ok).toBe(true);
    const [update] = await callUpdates(call.sid);
    expect(parseTwiml(update!.form.Twiml![0]!).noun?.target).toBe(NIGHT_DESK);
  });

  it("refuses the number's own agent's destination", async () => {
    const call = await nightCall(schedule, extra);
    const { body } = await transfer(call, { destination: "sales" });
    expect(body.ok).toBe(false);
    expect(await callUpdates(call.sid)).toHaveLength(0);
  });

  it("goes back to that agent when nobody answers the transfer", async () => {
    const call = await nightCall(schedule, extra);
    await transfer(call, { destination: "night" });
    const [update] = await callUpdates(call.sid);
    const action = parseTwiml(update!.form.Twiml![0]!).dial?.action ?? "";
    await worker(transferResult(call, action, { DialCallStatus: "no-answer" }));
    const registrations = (await retellRequests(call.nightAgent)).filter((r) => r.path === "/v2/register-phone-call" && r.callId);
    expect(registrations).toHaveLength(2);
    expect((registrations[1]?.body as { agent_id: string }).agent_id).toBe(call.nightAgent);
  });
});
