/**
 * Helpers for the outbound-call tests: POST /api/calls as an operator sends it, the Calls.json requests the
 * Twilio stand-in received for one calling number, and Twilio's callbacks for a placed call (its `Url` and
 * StatusCallback, signed as Twilio signs them).
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ORIGIN, twilioRequest, twilioRequests, uniqueAgentId, uniqueCaller, uniqueNumber, worker } from "./helpers.ts";
import { TEST_CALLS_TOKEN } from "./admin-token.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "./secrets.ts";

export const CALLS_JSON = `/2010-04-01/Accounts/${TEST_TWILIO_ACCOUNT_SID}/Calls.json`;

export function placeRequest(body: unknown, token: string | null = TEST_CALLS_TOKEN): Request {
  return new Request(`${ORIGIN}/api/calls`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(token !== null && { Authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** A fresh calling number with an agent stored under it (`config` merged into the agent's JSON). */
export async function callingNumber(config: Record<string, unknown> = {}): Promise<{ from: string; agentId: string }> {
  const from = uniqueNumber();
  const agentId = uniqueAgentId("out");
  await env.AGENTS.put(from, JSON.stringify({ retellAgentId: agentId, ...config }));
  return { from, agentId };
}

/** The Calls.json creates the stand-in received from `from` (the stand-in is shared by test files running side by side). */
export async function createsFrom(from: string): Promise<Awaited<ReturnType<typeof twilioRequests>>> {
  return (await twilioRequests(CALLS_JSON)).filter((r) => r.form.From?.[0] === from);
}

export interface PlacedCall {
  callSid: string;
  from: string;
  to: string;
  agentId: string;
  /** The path and query of the call's `Url` and StatusCallback on ORIGIN, as Twilio will request them. */
  answerPath: string;
  statusPath: string;
}

function pathOn(url: string | undefined): string {
  if (!url?.startsWith(ORIGIN)) throw new Error(`${url} is not on ${ORIGIN}`);
  return url.slice(ORIGIN.length);
}

/** Places a call from a fresh number (or `from`) and returns what Twilio was given. */
export async function placeCall(body: Record<string, unknown> = {}, line?: { from: string; agentId: string }): Promise<PlacedCall> {
  const { from, agentId } = line ?? (await callingNumber());
  const to = typeof body.to === "string" ? body.to : uniqueCaller();
  const res = await worker(placeRequest({ from, ...body, to }));
  expect(res.status, await res.clone().text()).toBe(201);
  const { callSid } = (await res.json()) as { callSid: string };
  const create = (await createsFrom(from)).find((r) => r.form.To?.[0] === to);
  return { callSid, from, to, agentId, answerPath: pathOn(create?.form.Url?.[0]), statusPath: pathOn(create?.form.StatusCallback?.[0]) };
}

/** Twilio's request to the call's `Url` once the callee answered (`AnsweredBy` with machine detection). */
export function answerRequest(call: PlacedCall, extra: Record<string, string> = {}): Request {
  return twilioRequest(call.answerPath, {
    AccountSid: TEST_TWILIO_ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    CallSid: call.callSid,
    CallStatus: "in-progress",
    Direction: "outbound-api",
    From: call.from,
    To: call.to,
    Called: call.to,
    Caller: call.from,
    ...extra,
  });
}

/** A status callback for the call, as Twilio posts it to the StatusCallback it was given. */
export function statusRequest(call: PlacedCall, status: string, sequence: number, extra: Record<string, string> = {}): Request {
  return twilioRequest(call.statusPath, {
    AccountSid: TEST_TWILIO_ACCOUNT_SID,
    ApiVersion: "2010-04-01",
    CallSid: call.callSid,
    CallStatus: status,
    Direction: "outbound-api",
    From: call.from,
    To: call.to,
    SequenceNumber: String(sequence),
    Timestamp: new Date().toUTCString(),
    ...extra,
  });
}
