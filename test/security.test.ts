/**
 * What leaves the Worker: its logs never hold a secret or a full phone number, and its responses carry
 * nothing that helps an attacker (no stack traces, no framework banners), across every route and outcome.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { answerRequest, callingNumber, placeCall, placeRequest, statusRequest } from "./outbound.ts";
import { callSid, failTwilio, retellRequests, setRetellBehaviour, sipUri, twilioRequest, uniqueAgentId, uniqueCaller, uniqueNumber, voiceParams, worker, ORIGIN } from "./helpers.ts";
import { actionPath, adminRequest, recordOf, retellCall, retellRequest } from "./records.ts";
import { TEST_ADMIN_TOKEN } from "./admin-token.ts";
import { TEST_RETELL_API_KEY, TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY, TEST_WEBHOOK_SIGNING_SECRET } from "./secrets.ts";
import { received, receiverPath, setReceiver } from "./events/receiver.ts";
import { WEBHOOKS_KEY } from "../src/records/endpoints.ts";

const SECRETS = [TEST_TWILIO_AUTH_TOKEN, TEST_TWILIO_AUTH_TOKEN_SECONDARY, TEST_RETELL_API_KEY, TEST_ADMIN_TOKEN, TEST_WEBHOOK_SIGNING_SECRET];
const FALLBACK = "+61390001234";

let output: string[] = [];
beforeEach(() => {
  output = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(" ")));
  }
});
afterEach(() => vi.restoreAllMocks());

/** Every kind of traffic the Worker sees, good and bad; returns the numbers that went through it and every response. */
async function exercise(): Promise<{ numbers: string[]; responses: Response[] }> {
  const mapped = uniqueNumber();
  const down = uniqueNumber();
  const unmapped = uniqueNumber();
  const closed = uniqueNumber();
  // Callers of this run's own: the rate limit (3 a minute per caller) must not carry over from another run.
  const CALLER = uniqueCaller();
  const blockedCaller = uniqueCaller();
  const agent = uniqueAgentId("sec");
  const downAgent = uniqueAgentId("secdown");
  await env.AGENTS.put(mapped, agent);
  await env.AGENTS.put(down, JSON.stringify({ retellAgentId: downAgent, fallbackNumber: FALLBACK }));
  // Retell's error answer echoes the caller's number, as an error body may.
  await setRetellBehaviour(downAgent, { status: 500, errorBody: { status: "error", message: `call from ${CALLER} to ${down} failed` } });
  await env.AGENTS.put(closed, JSON.stringify({ retellAgentId: uniqueAgentId("secshut"), blockedCallers: [blockedCaller], schedule: { timeZone: "UTC", hours: {}, afterHours: { number: FALLBACK } } }));
  // Call events go to an endpoint that fails once, then takes them: the consumer's log lines are exercised too.
  const hook = receiverPath("security");
  await env.AGENTS.put(WEBHOOKS_KEY, JSON.stringify([{ id: "sec", url: hook.url }]));
  await setReceiver(hook.path, { statuses: [500, 204] });
  const responses: Response[] = [];
  const send = async (request: Request) => {
    const res = await worker(request);
    responses.push(res.clone());
    return res;
  };

  const sid = callSid();
  const connected = voiceParams({ To: mapped, From: CALLER, CallSid: sid });
  const twiml = await (await send(twilioRequest("/api/webhooks/twilio", connected))).text();
  await send(twilioRequest("/api/webhooks/twilio", connected)); // a replay
  await (await send(twilioRequest("/api/webhooks/twilio", voiceParams({ To: down, From: CALLER })))).text();
  await (await send(twilioRequest("/api/webhooks/twilio", voiceParams({ To: unmapped, From: CALLER })))).text();
  // The routing rules' outcomes: after hours (dialing a number), blocked, and over the caller's rate limit.
  await (await send(twilioRequest("/api/webhooks/twilio", voiceParams({ To: closed, From: blockedCaller })))).text();
  for (let i = 0; i < 4; i++) await (await send(twilioRequest("/api/webhooks/twilio", voiceParams({ To: closed, From: CALLER })))).text();
  await send(twilioRequest("/api/webhooks/twilio", voiceParams({ To: mapped, From: CALLER }), { token: "forged_token" }));
  await send(twilioRequest(actionPath(twiml), { ...connected, DialCallStatus: "failed", DialSipResponseCode: "503" }));
  await send(twilioRequest("/api/webhooks/twilio/status", { ...connected, CallStatus: "completed", CallDuration: "42", SequenceNumber: "3" }));
  const retellCallId = sipUri(twiml)?.match(/^sip:([^@]+)@/)?.[1] ?? "";
  await recordOf(sid);
  await send(await retellRequest({ event: "call_ended", call: retellCall({ call_id: retellCallId, from_number: CALLER, to_number: mapped, metadata: { twilio_call_sid: sid } }) }));
  await send(await retellRequest({ event: "call_ended", call: retellCall({ call_id: retellCallId }) }, { signature: "v=1,d=00" }));
  for (let i = 0; i < 300 && (await received(hook.path)).filter((r) => r.status === 204 && r.body.includes(sid)).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  await send(adminRequest("/api/calls?limit=5"));
  await send(adminRequest("/api/deliveries?limit=5"));
  await send(adminRequest("/api/stats", "wrong_token"));
  await send(new Request(`${ORIGIN}/health`));
  await send(new Request(`${ORIGIN}/api/webhooks/twilio`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } }));
  // Outbound: placed, over the limit, refused by Twilio, answered by a person and by a machine, ended.
  const outboundLine = await callingNumber({ fallbackNumber: FALLBACK });
  const callee = uniqueCaller();
  const outbound = await placeCall({ to: callee, machineDetection: "hangup" }, outboundLine);
  const machineCall = await placeCall({ machineDetection: "hangup" }, outboundLine);
  await failTwilio(`To=${CALLER}`, { status: 400, code: 21215, message: `Account not authorized to call ${CALLER}.` });
  await send(placeRequest({ to: CALLER, from: outboundLine.from }));
  await send(answerRequest(outbound, { AnsweredBy: "human" }));
  await send(answerRequest(machineCall, { AnsweredBy: "machine_start" }));
  await send(statusRequest(outbound, "completed", 3, { CallDuration: "30" }));
  expect(await retellRequests(agent)).toHaveLength(1);
  return { numbers: [mapped, down, unmapped, closed, CALLER, blockedCaller, FALLBACK, outboundLine.from, callee, machineCall.to], responses };
}

describe("logs", { timeout: 60_000 }, () => {
  it("never contain a secret or a full phone number, on any route or outcome", async () => {
    const { numbers } = await exercise();
    const logged = output.join("\n");
    expect(output.length).toBeGreaterThan(8);
    // The events consumer's lines are among them: a failed attempt, then the delivery.
    expect(logged).toContain('"events.delivery_failed"');
    expect(logged).toContain('"events.delivered"');
    for (const secret of SECRETS) expect(logged).not.toContain(secret);
    for (const number of numbers) {
      expect(logged).not.toContain(number);
      expect(logged).not.toContain(number.slice(1)); // nor its digits without the +
      expect(logged).not.toContain(encodeURIComponent(number));
    }
  });
});

describe("responses", { timeout: 60_000 }, () => {
  it("carry no framework banner and no stack trace, on any route or outcome", async () => {
    const { responses } = await exercise();
    for (const res of responses) {
      expect(res.headers.get("X-Powered-By")).toBeNull();
      expect(res.headers.get("Server")).toBeNull();
      const body = await res.text();
      expect(body).not.toMatch(/\bat .+\.(ts|js):\d+/);
      expect(body).not.toMatch(/Error:|TypeError|D1_ERROR|stack/i);
      for (const secret of SECRETS) expect(body).not.toContain(secret);
    }
  });

  it("carry a CSP that allows nothing, nosniff and no referrer, on any route or outcome (the API's; the page's are in page/public/_headers)", async () => {
    const { responses } = await exercise();
    for (const res of responses) {
      expect(res.headers.get("Content-Security-Policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });
});
