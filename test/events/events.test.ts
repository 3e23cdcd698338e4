/**
 * A call's events from end to end in the Workers runtime: the voice webhook, Twilio's status callback and Retell's
 * call_analyzed stored on the call's line, produced by its outbox, carried by the local queue (Miniflare's), and
 * delivered by the consumer to the receiver stand-in, which verifies each signature with `standardwebhooks`.
 */
import { env } from "cloudflare:workers";
import { retellRequests } from "../helpers.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { WEBHOOKS_KEY, type WebhookEndpoint } from "../../src/records/endpoints.ts";
import type { CallRecord } from "../../src/records/list.ts";
import { twilioRequest, worker } from "../helpers.ts";
import { adminRequest, answeredCall, retellCall, retellRequest } from "../records.ts";
import { received, receiverPath } from "./receiver.ts";
import type { ReceivedRequest } from "../../stand-ins/receiver.ts";
import { answerRequest, placeCall, statusRequest } from "../outbound.ts";

const ours = receiverPath("events");
const passThrough = receiverPath("retell-format");
const endedOnly = receiverPath("ended-only");

beforeAll(async () => {
  const endpoints: WebhookEndpoint[] = [
    { id: "ours", url: ours.url },
    { id: "retell", url: passThrough.url, format: "retell" },
    { id: "ended", url: endedOnly.url, events: ["call.ended"] },
  ];
  await env.AGENTS.put(WEBHOOKS_KEY, JSON.stringify(endpoints));
});

/** Waits (for the condition, not for a time) until the receiver holds `count` requests for the call on `path`. */
async function arrived(path: string, sid: string, count: number): Promise<ReceivedRequest[]> {
  const deadline = Date.now() + 50_000;
  for (;;) {
    const mine = (await received(path)).filter((r) => r.body.includes(sid));
    if (mine.length >= count || Date.now() > deadline) return mine;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function finishedCall() {
  const call = await answeredCall();
  const registration = (await retellRequests(call.agentId)).find((r) => r.path === "/v2/register-phone-call" && r.callId);
  const { metadata } = registration?.body as { metadata: Record<string, unknown> };
  const retell = retellCall({ call_id: registration?.callId, agent_id: call.agentId, to_number: call.line, metadata });
  const status = await worker(
    twilioRequest("/api/webhooks/twilio/status", {
      AccountSid: "AC00000000000000000000000000000000",
      CallSid: call.sid,
      CallStatus: "completed",
      Direction: "inbound",
      From: call.params.From ?? "",
      To: call.line,
      CallDuration: "95",
    }),
  );
  expect(status.status).toBe(204);
  const analyzedPayload = { event: "call_analyzed", call: { ...retell, call_status: "ended", transcript: "Agent: Hello ü <&>", call_analysis: { call_summary: "Booked.", call_successful: true } } };
  const analyzedRequest = await retellRequest(analyzedPayload);
  const analyzedBody = await analyzedRequest.clone().text();
  const analyzedSignature = analyzedRequest.headers.get("x-retell-signature");
  expect((await worker(analyzedRequest)).status).toBe(204);
  return { ...call, analyzedPayload, analyzedBody, analyzedSignature };
}

describe("a call's events", { timeout: 60_000 }, () => {
  it("reach the endpoint once each, signed, in the order they happened, numbered 1, 2, 3", async () => {
    const call = await finishedCall();
    const requests = await arrived(ours.path, call.sid, 3);
    expect(requests.every((r) => r.verified)).toBe(true);
    const payloads = requests.map((r) => JSON.parse(r.body) as { type: string; sequence: number; data: CallRecord; timestamp: string });
    expect(payloads.map((p) => [p.type, p.sequence])).toEqual([
      ["call.started", 1],
      ["call.ended", 2],
      ["call.analyzed", 3],
    ]);
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(3);
    expect(payloads[0]?.data).toMatchObject({ callSid: call.sid, outcome: "connected", direction: "inbound", twilioStatus: null });
    expect(payloads[1]?.data).toMatchObject({ callSid: call.sid, twilioStatus: "completed", durationS: 95 });
  });

  it("carry in data the record exactly as GET /api/calls/:callSid returns it, and Retell's call object unchanged in call.analyzed", async () => {
    const call = await finishedCall();
    const requests = await arrived(ours.path, call.sid, 3);
    const analyzed = JSON.parse(requests[2]?.body ?? "{}") as { data: CallRecord; retell: unknown };
    expect(analyzed.retell).toEqual(call.analyzedPayload.call);
    const api = await worker(adminRequest(`/api/calls/${call.sid}`));
    // The record reaches D1 about a second after its last change; compare once it holds the analysis.
    let record = (await api.json()) as CallRecord;
    for (let i = 0; i < 100 && record.callSummary === null; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      record = (await (await worker(adminRequest(`/api/calls/${call.sid}`))).json()) as CallRecord;
    }
    expect(analyzed.data).toEqual(record);
  });

  it("go only where an endpoint's event types say", async () => {
    const call = await finishedCall();
    await arrived(ours.path, call.sid, 3);
    const ended = await arrived(endedOnly.path, call.sid, 1);
    expect(ended.map((r) => (JSON.parse(r.body) as { type: string }).type)).toEqual(["call.ended"]);
  });

  it("pass Retell's own body and x-retell-signature byte for byte to a retell-format endpoint", async () => {
    const call = await finishedCall();
    const requests = await arrived(passThrough.path, call.sid, 1);
    const analyzed = requests.find((r) => r.body === call.analyzedBody);
    expect(analyzed?.headers["x-retell-signature"]).toBe(call.analyzedSignature);
    expect(analyzed?.verified).toBe(true);
    // Our own events never go to it.
    expect(requests.every((r) => !r.body.includes('"type":"call.'))).toBe(true);
  });

  it("of an outbound call say so, and who answered", async () => {
    const call = await placeCall({ machineDetection: "hangup" });
    expect((await worker(answerRequest(call, { AnsweredBy: "human" }))).status).toBe(200);
    expect((await worker(statusRequest(call, "completed", 3, { CallDuration: "30" }))).status).toBe(204);
    const requests = await arrived(ours.path, call.callSid, 2);
    const payloads = requests.map((r) => JSON.parse(r.body) as { type: string; data: CallRecord });
    expect(payloads.map((p) => [p.type, p.data.direction, p.data.answeredBy])).toEqual([
      ["call.started", "outbound", "human"],
      ["call.ended", "outbound", "human"],
    ]);
  });

  it("pass Retell's other events (transcript_updated) through too, which the record itself ignores", async () => {
    const call = await answeredCall();
    const registration = (await retellRequests(call.agentId)).find((r) => r.path === "/v2/register-phone-call" && r.callId);
    const { metadata } = registration?.body as { metadata: Record<string, unknown> };
    const update = await retellRequest({ event: "transcript_updated", call: retellCall({ call_id: registration?.callId, metadata, transcript: "Agent: Hi" }) });
    const body = await update.clone().text();
    expect((await worker(update)).status).toBe(204);
    const requests = await arrived(passThrough.path, call.sid, 1);
    expect(requests.map((r) => r.body)).toEqual([body]);
  });
});
