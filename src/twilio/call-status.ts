/**
 * Twilio status callbacks (POST /api/webhooks/twilio/status): what one says, and how callbacks are ordered.
 * Twilio sends them late, twice, or out of order ("no guarantee they will arrive in the same order",
 * https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent), so each carries an ordering key
 * and the record keeps the status with the highest key. Plain TypeScript, shared with the CLI.
 */
import { param, type TwilioParams } from "./params.ts";

/**
 * CallStatus values (https://www.twilio.com/docs/voice/twiml#callstatus-values), with how far along a call each
 * one is: a status never replaces one further along, so a late `ringing` cannot undo `in-progress`, and nothing
 * undoes a final status.
 */
export const TWILIO_STATUS_RANK = {
  queued: 0,
  initiated: 0,
  ringing: 1,
  "in-progress": 2,
  completed: 3,
  busy: 3,
  failed: 3,
  "no-answer": 3,
  canceled: 3,
} as const;

export type TwilioCallStatus = keyof typeof TWILIO_STATUS_RANK;
export const TWILIO_CALL_STATUSES = Object.keys(TWILIO_STATUS_RANK) as TwilioCallStatus[];
const FINAL_RANK = 3;

export function isTwilioCallStatus(value: string): value is TwilioCallStatus {
  return Object.hasOwn(TWILIO_STATUS_RANK, value);
}

export function isFinalStatus(status: TwilioCallStatus): boolean {
  return TWILIO_STATUS_RANK[status] === FINAL_RANK;
}

export interface StatusUpdate {
  callSid: string;
  status: TwilioCallStatus;
  /** SequenceNumber: event-based callbacks count from 0 per call; the number-level callback has none. */
  sequence?: number;
  /** Timestamp (RFC 2822), in ms; absent from some callbacks. */
  timestamp?: number;
  /** CallDuration, seconds; on final statuses. */
  durationS?: number;
  accountSid?: string;
  from?: string;
  to?: string;
}

/** Ordering key of a callback: (status rank, SequenceNumber, Timestamp); missing parts sort lowest. */
export interface StatusKey {
  rank: number;
  sequence: number;
  at: number;
}

export function statusKey(update: StatusUpdate, receivedAt: number): StatusKey {
  return { rank: TWILIO_STATUS_RANK[update.status], sequence: update.sequence ?? -1, at: update.timestamp ?? receivedAt };
}

function wholeNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

export type StatusRead = { ok: true; update: StatusUpdate } | { ok: false; detail: string };

export function readStatusCallback(params: TwilioParams): StatusRead {
  const callSid = param(params, "CallSid");
  const status = param(params, "CallStatus");
  if (!callSid) return { ok: false, detail: "CallSid is missing" };
  if (!status || !isTwilioCallStatus(status)) return { ok: false, detail: `CallStatus ${JSON.stringify(status ?? null)} is not a Twilio call status` };
  const timestamp = Date.parse(param(params, "Timestamp") ?? "");
  const update: StatusUpdate = { callSid, status };
  const sequence = wholeNumber(param(params, "SequenceNumber"));
  if (sequence !== undefined) update.sequence = sequence;
  if (!Number.isNaN(timestamp)) update.timestamp = timestamp;
  const duration = wholeNumber(param(params, "CallDuration"));
  if (duration !== undefined) update.durationS = duration;
  for (const [field, name] of [["accountSid", "AccountSid"], ["from", "From"], ["to", "To"]] as const) {
    const value = param(params, name);
    if (value !== undefined) update[field] = value;
  }
  return { ok: true, update };
}
