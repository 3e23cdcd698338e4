/**
 * Retell's call webhooks (https://docs.retellai.com/features/webhook): `{ "event": "call_ended", "call": {...} }`
 * signed with `x-retell-signature`. This module checks the signature and reads what the call record keeps.
 */
// The SDK's webhook helper alone (WebCrypto, no Node APIs); importing "retell-sdk" would bundle its whole client.
import { verify } from "retell-sdk/lib/webhook_auth";

export const RETELL_SIGNATURE_HEADER = "x-retell-signature";

/** The events the record uses; Retell's other events (transcript_updated, transfer_*, chat_*) are acknowledged and ignored. */
export const RETELL_CALL_EVENTS = ["call_started", "call_ended", "call_analyzed"] as const;
export type RetellCallEvent = (typeof RETELL_CALL_EVENTS)[number];

/**
 * Retell's call_status values (retell-sdk PhoneCallResponse.call_status) by how far along a call is: a repeated
 * or late `call_started` (ongoing) never replaces `ended`.
 */
export const RETELL_STATUS_RANK = { registered: 0, ongoing: 1, ended: 2, not_connected: 2, error: 2 } as const;

/** Longest summary kept: Retell's are a few sentences; this only bounds what a row can be made to hold. */
const MAX_TEXT = 4_000;
/** Twilio SIDs and Retell ids: letters, digits, `_` and `-`. */
const ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface RetellCallUpdate {
  event: RetellCallEvent;
  callId: string;
  /** The CallSid the voice webhook put in the registration's metadata (calls/connect.ts). */
  twilioCallSid?: string;
  /** The call's line (its object's name), from the same metadata. */
  line?: string;
  retellAgentId?: string;
  from?: string;
  to?: string;
  status?: string;
  startedAt?: number;
  endedAt?: number;
  durationMs?: number;
  disconnectionReason?: string;
  summary?: string;
  sentiment?: string;
  successful?: boolean;
}

export type RetellEventRead =
  | { kind: "call"; update: RetellCallUpdate }
  | { kind: "ignored"; event: string }
  | { kind: "invalid"; detail: string };

/** retell-sdk's verifier (retell-sdk/lib/webhook_auth `symmetric.verify`): `v=<ms>,d=<64 hex digits of HMAC-SHA256>`. */
const SIGNATURE_SHAPE = /^v=(\d{1,16}),d=[0-9a-f]{64}$/i;
/** The verifier refuses a timestamp more than this far from now, either way. */
export const RETELL_SIGNATURE_MAX_SKEW_MS = 5 * 60 * 1000;

/**
 * Whether `x-retell-signature` could pass the verifier at `now`: its shape and its timestamp, the checks that need
 * no body. A request failing them is refused before its body is read, let alone MACed.
 */
export function retellSignatureCurrent(signature: string | undefined, now: number): boolean {
  const match = signature === undefined ? null : SIGNATURE_SHAPE.exec(signature);
  if (!match) return false;
  const stamp = Number(match[1]);
  return Number.isSafeInteger(stamp) && Math.abs(now - stamp) <= RETELL_SIGNATURE_MAX_SKEW_MS;
}

/** Checks `x-retell-signature` (`v=<ms>,d=<hex HMAC-SHA256 of body + ms>`, at most 5 minutes old) over the raw body. */
export async function isValidRetellSignature(rawBody: string, apiKey: string, signature: string | undefined): Promise<boolean> {
  if (!signature) return false;
  return verify(rawBody, apiKey, signature);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown, max = 256): string | undefined {
  return typeof value === "string" && value !== "" ? value.slice(0, max) : undefined;
}

function id(value: unknown): string | undefined {
  return typeof value === "string" && ID.test(value) ? value : undefined;
}

function millis(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function isCallEvent(event: string): event is RetellCallEvent {
  return (RETELL_CALL_EVENTS as readonly string[]).includes(event);
}

/** Reads a parsed webhook body. The event name is `event`; one Retell page shows `event_type`, so that is read too. */
export function readRetellEvent(payload: unknown): RetellEventRead {
  const body = record(payload);
  if (!body) return { kind: "invalid", detail: "body is not a JSON object" };
  const event = text(body.event) ?? text(body.event_type);
  if (!event) return { kind: "invalid", detail: "no event name" };
  if (!isCallEvent(event)) return { kind: "ignored", event };
  const call = record(body.call);
  const callId = id(call?.call_id);
  if (!call || !callId) return { kind: "invalid", detail: "no call.call_id" };

  const update: RetellCallUpdate = { event, callId };
  const metadata = record(call.metadata);
  const telephony = record(call.telephony_identifier);
  const callSid = id(metadata?.twilio_call_sid) ?? id(telephony?.twilio_call_sid);
  if (callSid) update.twilioCallSid = callSid;
  const line = text(metadata?.twilio_line, 64);
  if (line) update.line = line;
  const agentId = id(call.agent_id);
  if (agentId) update.retellAgentId = agentId;
  const from = text(call.from_number, 64);
  if (from) update.from = from;
  const to = text(call.to_number, 64);
  if (to) update.to = to;
  const status = text(call.call_status, 32) ?? (event === "call_started" ? "ongoing" : "ended");
  update.status = status;
  const startedAt = millis(call.start_timestamp);
  if (startedAt !== undefined) update.startedAt = startedAt;
  const endedAt = millis(call.end_timestamp);
  if (endedAt !== undefined) update.endedAt = endedAt;
  const durationMs = millis(call.duration_ms);
  if (durationMs !== undefined) update.durationMs = durationMs;
  const reason = text(call.disconnection_reason, 64);
  if (reason) update.disconnectionReason = reason;

  const analysis = record(call.call_analysis);
  const summary = text(analysis?.call_summary, MAX_TEXT);
  if (summary) update.summary = summary;
  const sentiment = text(analysis?.user_sentiment, 32);
  if (sentiment) update.sentiment = sentiment;
  if (typeof analysis?.call_successful === "boolean") update.successful = analysis.call_successful;
  return { kind: "call", update };
}

/** Where any Retell call event belongs (the line and CallSid in the call's metadata), for events the record does not use. */
export function retellEventCall(payload: unknown): { callId: string; twilioCallSid: string; line: string } | null {
  const call = record(record(payload)?.call);
  const metadata = record(call?.metadata);
  const callId = id(call?.call_id);
  const twilioCallSid = id(metadata?.twilio_call_sid);
  const line = text(metadata?.twilio_line, 64);
  return callId && twilioCallSid && line ? { callId, twilioCallSid, line } : null;
}
