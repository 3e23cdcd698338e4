/**
 * Transfers to a person: a check-and-set on the call's record (its `transfers` attempts, line/transitions.ts)
 * around the Twilio update the Worker makes between two calls to the line object (src/transfers/). Plain functions
 * over the `calls` table (line/calls-table.ts); the object keeps, in memory, the requests waiting for an attempt
 * to settle or return (line/waiters.ts) and which attempts' way back to the AI is being registered.
 */
import type { CallRecord } from "../records/list.ts";
import type { TransferAttempt } from "../records/transfer-attempt.ts";
import { callRow, rowRecord, writeCall } from "./calls-table.ts";
import {
  applyTransferDial,
  decideTransfer,
  expireTransfer,
  returnToAgent,
  settleTransfer,
  transferUnderWay,
  type TransferRefusalReason,
  type TransferRequest,
} from "./transitions.ts";

/**
 * A pending transfer update older than this was made by a request that can no longer settle it (Twilio's update
 * is limited to transfers/transfer.ts TWILIO_UPDATE_TIMEOUT_MS): it is given up on as unconfirmed.
 */
export const TRANSFER_PENDING_TTL_MS = 10_000;

export type TransferStart =
  | { kind: "unknown_call" }
  | { kind: "refused"; reason: TransferRefusalReason }
  /** The answer is this attempt's (a repeat, or a request while it is under way); `pending` if it outlived the wait. */
  | { kind: "existing"; index: number; attempt: TransferAttempt }
  /** Make the Twilio update for attempt `index`, then settleTransfer it. */
  | { kind: "proceed"; index: number; record: CallRecord };

export type TransferEnd =
  | { kind: "unknown" }
  /** The person answered: the call ends. */
  | { kind: "answered" }
  /** Nobody answered: this request registers the caller's way back to the AI, then calls backToAgent. */
  | { kind: "return"; record: CallRecord; attempt: TransferAttempt }
  /** Nobody answered and the way back was already registered (a repeat of transfer-complete): the same SIP leg. */
  | { kind: "returned"; retellCallId: string }
  /** Nobody answered, and the way back failed or is still being registered by another request. */
  | { kind: "return_failed" };

/** A step's answer, and whether it changed the call's record (then the object schedules its copy to D1). */
export interface Written<T> {
  result: T;
  wrote: boolean;
}

/** The key of attempt `index` of a call, for the attempts whose way back is being registered. */
export function attemptKey(callSid: string, index: number): string {
  return `${callSid}#${index}`;
}

/** A transfer request, decided against the call (transitions.ts decideTransfer); `proceed` has written the new attempt. */
export function transferDecision(sql: SqlStorage, callSid: string, request: TransferRequest, now: number): TransferStart {
  const row = callRow(sql, callSid);
  if (!row) return { kind: "unknown_call" };
  const stored = rowRecord(row);
  const record = expireTransfer(stored, now, TRANSFER_PENDING_TTL_MS);
  const decision = decideTransfer(record, request);
  if (decision.kind === "proceed") {
    writeCall(sql, callSid, decision.record, row);
    return { kind: "proceed", index: decision.index, record: decision.record };
  }
  if (record !== stored) writeCall(sql, callSid, record, row);
  return decision;
}

/** Attempt `index` as it is after a wait for it: settled, given up on as unconfirmed, or still pending. */
export function awaitedAttempt(sql: SqlStorage, callSid: string, index: number, now: number): Written<TransferStart> {
  const row = callRow(sql, callSid);
  if (!row) return { result: { kind: "unknown_call" }, wrote: false };
  const stored = rowRecord(row);
  const record = expireTransfer(stored, now, TRANSFER_PENDING_TTL_MS);
  if (record !== stored) writeCall(sql, callSid, record, row);
  const attempt = record.transfers?.[index];
  return { result: attempt ? { kind: "existing", index, attempt } : { kind: "unknown_call" }, wrote: record !== stored };
}

/** Twilio's answer to the update of attempt `index`; null when the line does not hold the call. */
export function settleAttempt(sql: SqlStorage, callSid: string, index: number, result: { accepted: true } | { accepted: false; error: string }, now: number): { attempt: TransferAttempt | null } | null {
  const row = callRow(sql, callSid);
  if (!row) return null;
  const record = settleTransfer(rowRecord(row), index, result, now);
  writeCall(sql, callSid, record, row);
  return { attempt: record.transfers?.[index] ?? null };
}

/** The attempt a dial of this call belongs to while a transfer is under way, with the call's record; else null. */
export function transferInProgress(sql: SqlStorage, callSid: string): { index: number; record: CallRecord } | null {
  const row = callRow(sql, callSid);
  if (!row) return null;
  const record = rowRecord(row);
  const index = transferUnderWay(record);
  return index === -1 ? null : { index, record };
}

/**
 * How the person's dial ended (transfer-complete). When nobody answered, the first request registers the way back
 * to the AI (`return`); `wait`: another request is registering it (its key is in `returning`).
 */
export function finishAttempt(
  sql: SqlStorage,
  callSid: string,
  index: number,
  dial: { status: string | null; durationS: number | null },
  now: number,
  returning: ReadonlySet<string>,
): Written<TransferEnd | { kind: "wait" }> {
  const row = callRow(sql, callSid);
  const stored = row ? rowRecord(row) : null;
  if (!row || !stored?.transfers?.[index]) return { result: { kind: "unknown" }, wrote: false };
  const record = applyTransferDial(stored, index, dial, now);
  const wrote = record !== stored;
  if (wrote) writeCall(sql, callSid, record, row);
  const attempt = record.transfers?.[index] as TransferAttempt;
  if (attempt.dialStatus === "completed" || attempt.dialStatus === "answered") return { result: { kind: "answered" }, wrote };
  if (attempt.returnRetellCallId === null && attempt.returnError === null && returning.has(attemptKey(callSid, index))) return { result: { kind: "wait" }, wrote };
  if (attempt.returnRetellCallId !== null) return { result: { kind: "returned", retellCallId: attempt.returnRetellCallId }, wrote };
  if (attempt.returnError !== null) return { result: { kind: "return_failed" }, wrote };
  return { result: { kind: "return", record, attempt }, wrote };
}

/** The way back after another request registered it (or gave up waiting): the same SIP leg, or none. */
export function returnedAttempt(sql: SqlStorage, callSid: string, index: number): TransferEnd {
  const after = callRow(sql, callSid);
  const retellCallId = after ? rowRecord(after).transfers?.[index]?.returnRetellCallId : null;
  return retellCallId ? { kind: "returned", retellCallId } : { kind: "return_failed" };
}

/** The way back to the AI after attempt `index`: the new Retell call, now the leg bridged, or why there is none. */
export function backToAgent(sql: SqlStorage, callSid: string, index: number, result: { retellCallId: string } | { error: string }, now: number): boolean {
  const row = callRow(sql, callSid);
  if (!row) return false;
  writeCall(sql, callSid, returnToAgent(rowRecord(row), index, result, now), row);
  return true;
}
