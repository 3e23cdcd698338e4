/**
 * How each event changes a call's record: plain functions from (record, event) to the next record, used by the
 * line's object (line/object.ts), the single writer of every call on its line. The record is the `calls` row
 * (records/list.ts CallRecord), so what the object holds is exactly what it later copies to D1.
 *
 * Twilio's and Retell's callbacks arrive late, twice or out of order, so every transition is safe to repeat:
 * identity fields are filled only where still empty, a step's time is kept once set, and statuses only move
 * forward.
 */
import type { CallOutcome, CallRecord, HookResult } from "../records/list.ts";
import { isFinalStatus, statusKey, TWILIO_STATUS_RANK, type StatusUpdate } from "../twilio/call-status.ts";
import type { DialFailureReason, DialReport } from "./dial-report.ts";
import { RETELL_STATUS_RANK, type RetellCallUpdate } from "../retell/events.ts";
import { isUnderWay, newAttempt, type TransferAttempt } from "../records/transfer-attempt.ts";
import { laterRecording, type VoicemailRecording } from "../twilio/recording.ts";

/** What the voice webhook learnt and decided for a call: written once it has its answer. */
export interface VoiceAnswer {
  accountSid?: string;
  agentKey: string | null;
  retellAgentId?: string;
  from: string;
  to: string;
  outcome: CallOutcome;
  outcomeReason?: string;
  retellCallId?: string;
  registerMs?: number;
  registerAttempts?: number;
  /** Twilio's StirVerstat, when the webhook carried one. */
  stirVerstat?: string;
  /** Set when the caller hears the agent's consent notice before the AI leg. */
  announced?: boolean;
  /** Set when this answer holds the caller (outcome `queued`). */
  queuedAt?: number;
  /** The line's connected calls with this one, when it took a place under maxConcurrentCalls. */
  concurrentCalls?: number;
  receivedAt: number;
  answeredAt: number;
  /** How the pre-call hook answered, when one was asked (hook/consult.ts). */
  hook?: { result: HookResult; ms: number };
  /** The Retell agent registered: the hook's override, else retellAgentId. */
  finalAgentId?: string;
}

export interface DialRecord {
  report: DialReport;
  endedAt: number;
  /** Set when the SIP leg to Retell failed: what the caller got instead. */
  failure?: { outcome: Extract<CallOutcome, "fallback_dialed" | "voicemail" | "sip_failed">; reason: DialFailureReason };
}

/** A record with nothing known yet but the CallSid, first seen at `now`. */
export function newRecord(callSid: string, now: number): CallRecord {
  return {
    callSid,
    accountSid: null,
    agentKey: null,
    retellAgentId: null,
    from: null,
    to: null,
    outcome: null,
    outcomeReason: null,
    retellCallId: null,
    retellRegisterMs: null,
    retellRegisterAttempts: null,
    voiceReceivedAt: null,
    voiceAnsweredAt: null,
    dialStatus: null,
    dialSipCode: null,
    dialDurationS: null,
    dialEndedAt: null,
    fallbackStatus: null,
    fallbackEndedAt: null,
    twilioStatus: null,
    twilioSequence: null,
    twilioStatusAt: null,
    twilioAnsweredAt: null,
    twilioEndedAt: null,
    durationS: null,
    retellStatus: null,
    retellStartedAt: null,
    retellEndedAt: null,
    retellDurationMs: null,
    disconnectionReason: null,
    callSummary: null,
    userSentiment: null,
    callSuccessful: null,
    retellEventAt: null,
    createdAt: now,
    updatedAt: now,
    direction: "inbound",
    answeredBy: null,
    transfers: null,
    stirVerstat: null,
    announced: false,
    queuedAt: null,
    heldMs: null,
    concurrentCalls: null,
    voicemail: null,
    hookResult: null,
    hookMs: null,
    finalAgentId: null,
  };
}

/** The record when the first voice webhook for the call arrives, before it has an answer. */
export function receiveVoice(record: CallRecord, call: { accountSid?: string; from: string; to: string }, receivedAt: number): CallRecord {
  return {
    ...record,
    accountSid: record.accountSid ?? call.accountSid ?? null,
    from: record.from ?? call.from,
    to: record.to ?? call.to,
    voiceReceivedAt: record.voiceReceivedAt ?? receivedAt,
    createdAt: Math.min(record.createdAt, receivedAt),
    updatedAt: receivedAt,
  };
}

/**
 * The voice webhook's answer. A later answer for the same CallSid (a Twilio retry after a failed registration)
 * replaces an earlier one, except the outcome once dial-complete has reported on the dial.
 */
export function answerVoice(record: CallRecord, a: VoiceAnswer): CallRecord {
  const dialed = record.dialStatus !== null;
  return {
    ...record,
    accountSid: a.accountSid ?? record.accountSid,
    agentKey: a.agentKey,
    retellAgentId: a.retellAgentId ?? record.retellAgentId,
    from: a.from,
    to: a.to,
    outcome: dialed ? record.outcome : a.outcome,
    outcomeReason: dialed ? record.outcomeReason : (a.outcomeReason ?? null),
    retellCallId: a.retellCallId ?? record.retellCallId,
    retellRegisterMs: a.registerMs ?? null,
    retellRegisterAttempts: a.registerAttempts ?? null,
    stirVerstat: a.stirVerstat ?? record.stirVerstat ?? null,
    announced: a.announced ?? record.announced ?? false,
    queuedAt: record.queuedAt ?? a.queuedAt ?? null,
    concurrentCalls: a.concurrentCalls ?? record.concurrentCalls ?? null,
    hookResult: a.hook?.result ?? record.hookResult ?? null,
    hookMs: a.hook?.ms ?? record.hookMs ?? null,
    finalAgentId: a.finalAgentId ?? null,
    voiceReceivedAt: record.voiceReceivedAt ?? a.receivedAt,
    voiceAnsweredAt: a.answeredAt,
    createdAt: Math.min(record.createdAt, a.receivedAt),
    updatedAt: a.answeredAt,
  };
}

/**
 * Whether a status callback is newer than the stored status. With a Timestamp, by (rank, SequenceNumber,
 * Timestamp), a tie applying (a repeat changes nothing). Without one, only a further status or a strictly
 * greater SequenceNumber counts: the arrival time of a replayed callback is no evidence that it is newer.
 */
function isNewerStatus(record: CallRecord, update: StatusUpdate, receivedAt: number): boolean {
  if (record.twilioStatus === null) return true;
  const key = statusKey(update, receivedAt);
  const storedRank = TWILIO_STATUS_RANK[record.twilioStatus];
  const storedSequence = record.twilioSequence ?? -1;
  if (key.rank !== storedRank) return key.rank > storedRank;
  if (update.timestamp === undefined) return key.sequence > storedSequence;
  if (key.sequence !== storedSequence) return key.sequence > storedSequence;
  return key.at >= (record.twilioStatusAt ?? 0);
}

/** Applies a Twilio status callback; `applied` is false for one older than the stored status (kept out, not an error). */
export function applyStatus(record: CallRecord, update: StatusUpdate, receivedAt: number): { record: CallRecord; applied: boolean } {
  const at = statusKey(update, receivedAt).at;
  const filled: CallRecord = {
    ...record,
    accountSid: record.accountSid ?? update.accountSid ?? null,
    from: record.from ?? update.from ?? null,
    to: record.to ?? update.to ?? null,
    twilioAnsweredAt: record.twilioAnsweredAt ?? (update.status === "in-progress" ? at : null),
    updatedAt: receivedAt,
  };
  if (!isNewerStatus(record, update, receivedAt)) return { record: filled, applied: false };
  const final = isFinalStatus(update.status);
  return {
    applied: true,
    record: {
      ...filled,
      twilioStatus: update.status,
      twilioSequence: update.sequence ?? null,
      // A repeat of the stored status keeps the time it was first reported.
      twilioStatusAt: record.twilioStatus === update.status ? (record.twilioStatusAt ?? at) : at,
      durationS: update.durationS ?? record.durationS,
      twilioEndedAt: final ? (record.twilioEndedAt ?? at) : record.twilioEndedAt,
    },
  };
}

/** Records how a dial ended: the Retell leg's status (and the outcome when it failed), or the fallback leg's status. */
export function applyDial(record: CallRecord, { report, endedAt, failure }: DialRecord): CallRecord {
  const filled: CallRecord = {
    ...record,
    accountSid: record.accountSid ?? report.accountSid ?? null,
    from: record.from ?? report.from ?? null,
    to: record.to ?? report.to ?? null,
    agentKey: record.agentKey ?? report.agentKey,
    updatedAt: endedAt,
  };
  if (report.leg === "fallback") return { ...filled, fallbackStatus: report.status ?? null, fallbackEndedAt: endedAt };
  return {
    ...filled,
    dialStatus: report.status ?? null,
    dialSipCode: report.sipCode ?? null,
    dialDurationS: report.durationS ?? null,
    dialEndedAt: endedAt,
    outcome: failure?.outcome ?? record.outcome,
    outcomeReason: failure ? failure.reason : record.outcomeReason,
  };
}

export type RetellEventResult = { kind: "recorded"; record: CallRecord } | { kind: "other_registration" };

function forward(stored: string | null, next: string | undefined): string | null {
  if (next === undefined) return stored;
  if (stored === null) return next;
  const rank = (status: string) => (Object.hasOwn(RETELL_STATUS_RANK, status) ? RETELL_STATUS_RANK[status as keyof typeof RETELL_STATUS_RANK] : -1);
  return rank(next) >= rank(stored) ? next : stored;
}

/**
 * Applies a Retell event. An event for another Retell call than the one on record (a registration that was never
 * dialed) is left out. Retell retries and repeats events (https://docs.retellai.com/features/webhook), so values
 * already known are kept unless the event has one.
 */
export function applyRetellEvent(record: CallRecord, e: RetellCallUpdate, receivedAt: number): RetellEventResult {
  if (record.retellCallId !== null && record.retellCallId !== e.callId) return { kind: "other_registration" };
  return {
    kind: "recorded",
    record: {
      ...record,
      retellCallId: e.callId,
      retellAgentId: record.retellAgentId ?? e.retellAgentId ?? null,
      from: record.from ?? e.from ?? null,
      to: record.to ?? e.to ?? null,
      retellStatus: forward(record.retellStatus, e.status),
      retellStartedAt: e.startedAt ?? record.retellStartedAt,
      retellEndedAt: e.endedAt ?? record.retellEndedAt,
      retellDurationMs: e.durationMs ?? record.retellDurationMs,
      disconnectionReason: e.disconnectionReason ?? record.disconnectionReason,
      callSummary: e.summary ?? record.callSummary,
      userSentiment: e.sentiment ?? record.userSentiment,
      callSuccessful: e.successful ?? record.callSuccessful,
      retellEventAt: receivedAt,
      updatedAt: receivedAt,
    },
  };
}

/** Whether Twilio has reported the call over: the object may forget it once copied and past the grace period. */
export function isFinished(record: CallRecord): boolean {
  return record.twilioStatus !== null && isFinalStatus(record.twilioStatus);
}

// ── Outbound calls (POST /api/calls, src/outbound/) ──────────────────────────────────────────────────────────

/** An outbound call's record once its CallSid is known: our number calls the callee for the agent under `agentKey`. */
export function placedRecord(
  callSid: string,
  call: { from: string; to: string; agentKey: string; retellAgentId: string; accountSid?: string },
  placedAt: number,
): CallRecord {
  return {
    ...newRecord(callSid, placedAt),
    direction: "outbound",
    accountSid: call.accountSid ?? null,
    agentKey: call.agentKey,
    retellAgentId: call.retellAgentId,
    from: call.from,
    to: call.to,
  };
}

/** What Twilio's machine detection said, kept once known. */
export function withAnsweredBy(record: CallRecord, answeredBy: string | undefined): CallRecord {
  return answeredBy === undefined || record.answeredBy !== null ? record : { ...record, answeredBy };
}

/** A machine answered and the call ended without the agent: hung up, or after the voicemail message. */
export function answerMachine(record: CallRecord, answeredBy: string, reason: "machine_hangup" | "voicemail_left", at: number): CallRecord {
  return {
    ...withAnsweredBy(record, answeredBy),
    outcome: "machine_answered",
    outcomeReason: reason,
    voiceReceivedAt: record.voiceReceivedAt ?? at,
    voiceAnsweredAt: record.voiceAnsweredAt ?? at,
    updatedAt: at,
  };
}

/** An outbound call Twilio reports over that never reached our webhook: the callee did not answer (`callee_busy`, …). */
export function finishUnanswered(record: CallRecord): CallRecord {
  if (record.direction !== "outbound" || record.outcome !== null || record.voiceReceivedAt !== null || !isFinished(record)) return record;
  const status = record.twilioStatus === "completed" ? "hung_up" : String(record.twilioStatus).replace("-", "_");
  return { ...record, outcome: "not_answered", outcomeReason: `callee_${status}` };
}

// ── Transfers to a person (POST /api/webhooks/retell/transfer, POST /api/webhooks/twilio/transfer-complete) ──

/** Transfers per call: each is a Twilio update and a ringing phone, and a model looping on the function must stop. */
export const MAX_TRANSFERS_PER_CALL = 3;

/** What the agent asked for, with the destination already found in the agent's own `transfers`. */
export interface TransferRequest {
  retellCallId: string;
  destination: string;
  requestKey: string;
  requestedAt: number;
}

export type TransferRefusalReason = "call_not_live" | "too_many_transfers";

export type TransferDecision =
  /** A new attempt, appended as `pending` at `index`: the caller makes the Twilio update, then settles it. */
  | { kind: "proceed"; record: CallRecord; index: number }
  /** The same request again, or another while one is under way: the answer is that attempt's. */
  | { kind: "existing"; index: number; attempt: TransferAttempt }
  | { kind: "refused"; reason: TransferRefusalReason };

function attemptsOf(record: CallRecord): TransferAttempt[] {
  return record.transfers ?? [];
}

function withAttempt(record: CallRecord, index: number, change: Partial<TransferAttempt>, now: number): CallRecord {
  const transfers = attemptsOf(record).map((attempt, i) => (i === index ? { ...attempt, ...change } : attempt));
  return { ...record, transfers, updatedAt: now };
}

/**
 * The check-and-set of a transfer request, on the line's object: a repeat of a request (same AI leg, same
 * destination and announcement) or any request while a transfer is under way gets that attempt; otherwise the call
 * must be live, the request must come from the AI leg bridged now, and the call under the limit.
 */
export function decideTransfer(record: CallRecord, request: TransferRequest): TransferDecision {
  const attempts = attemptsOf(record);
  const same = attempts.findIndex((a) => a.retellCallId === request.retellCallId && a.requestKey === request.requestKey);
  if (same !== -1) return { kind: "existing", index: same, attempt: attempts[same] as TransferAttempt };
  if (isFinished(record) || record.retellCallId !== request.retellCallId) return { kind: "refused", reason: "call_not_live" };
  const underWay = attempts.findIndex(isUnderWay);
  if (underWay !== -1) return { kind: "existing", index: underWay, attempt: attempts[underWay] as TransferAttempt };
  if (attempts.length >= MAX_TRANSFERS_PER_CALL) return { kind: "refused", reason: "too_many_transfers" };
  const attempt = newAttempt(request);
  return { kind: "proceed", index: attempts.length, record: { ...record, transfers: [...attempts, attempt], updatedAt: request.requestedAt } };
}

/**
 * Twilio's answer to the update. A late answer still counts after the attempt was given up on as unconfirmed
 * (expireTransfer): what Twilio did is the truth; an accepted update is never undone.
 */
export function settleTransfer(record: CallRecord, index: number, result: { accepted: true } | { accepted: false; error: string }, now: number): CallRecord {
  const attempt = attemptsOf(record)[index];
  if (!attempt || attempt.update === "accepted") return record;
  return withAttempt(record, index, result.accepted ? { update: "accepted", updateError: null } : { update: "refused", updateError: result.error }, now);
}

/** A pending update older than `ttlMs` belongs to a request that can no longer settle it: given up on as unconfirmed. */
export function expireTransfer(record: CallRecord, now: number, ttlMs: number): CallRecord {
  const stale = attemptsOf(record).findIndex((a) => a.update === "pending" && now - a.requestedAt >= ttlMs);
  return stale === -1 ? record : settleTransfer(record, stale, { accepted: false, error: "twilio_unconfirmed" }, now);
}

/** The index of the attempt a `<Dial>` would belong to now, when a transfer is under way; else -1. */
export function transferUnderWay(record: CallRecord): number {
  return attemptsOf(record).findIndex(isUnderWay);
}

/** How the person's dial ended (transfer-complete); a repeat keeps what was first reported. */
export function applyTransferDial(record: CallRecord, index: number, dial: { status: string | null; durationS: number | null }, now: number): CallRecord {
  const attempt = attemptsOf(record)[index];
  if (!attempt || attempt.dialStatus !== null) return record;
  return withAttempt(record, index, { dialStatus: dial.status, dialDurationS: dial.durationS, dialEndedAt: now }, now);
}

/**
 * The caller is back with the AI on a new Retell call, which is the leg bridged from now on: later Retell events
 * are recorded for it and a later transfer is checked against it. Its status starts afresh (the previous leg's
 * `ended` must not hold back the new one's `ongoing`).
 */
export function returnToAgent(record: CallRecord, index: number, result: { retellCallId: string } | { error: string }, now: number): CallRecord {
  if (!attemptsOf(record)[index]) return record;
  if ("error" in result) return withAttempt(record, index, { returnError: result.error }, now);
  return {
    ...withAttempt(record, index, { returnRetellCallId: result.retellCallId, returnError: null }, now),
    retellCallId: result.retellCallId,
    retellStatus: null,
    retellEndedAt: null,
    retellDurationMs: null,
    disconnectionReason: null,
  };
}

// ── Holding (hold/, line/capacity.ts) ─────────────────────────────────────────────────────────────────────────

/**
 * The caller left the line's queue after `heldMs` (kept once set: a repeat of the Enqueue action is no new wait).
 * One who hung up while held is `abandoned`, unless dial-complete or a later answer already said otherwise.
 */
export function leftHold(record: CallRecord, exit: { kind: "admitted" | "timed_out" | "abandoned"; heldMs: number }, at: number): CallRecord {
  const held = { ...record, heldMs: record.heldMs ?? exit.heldMs, updatedAt: at };
  if (exit.kind !== "abandoned" || (record.outcome !== null && record.outcome !== "queued")) return held;
  return { ...held, outcome: "abandoned", outcomeReason: null };
}

/** A voicemail recording's status callback: kept as laterRecording orders them, so repeats and late ones are safe. */
export function withVoicemail(record: CallRecord, recording: VoicemailRecording): CallRecord {
  const voicemail = laterRecording(record.voicemail ?? null, recording);
  return voicemail === record.voicemail ? record : { ...record, voicemail, updatedAt: recording.reportedAt };
}
