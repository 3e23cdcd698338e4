/**
 * What Twilio and Retell report about a call the line holds, applied to its record in the `calls` table
 * (line/calls-table.ts) in order (line/transitions.ts): status callbacks, dial-completes, Retell's call events,
 * voicemail recordings and the hold queue's exit. Plain functions over the line object's SQLite storage, each one
 * synchronous read-and-write; the object schedules the copy to D1 after each.
 */
import type { StatusUpdate } from "../twilio/call-status.ts";
import type { RetellCallUpdate } from "../retell/events.ts";
import type { VoicemailRecording } from "../twilio/recording.ts";
import { callEnded, freePlace, leaveHold, type HoldExit } from "./capacity.ts";
import { callRow, rowRecord, writeCall } from "./calls-table.ts";
import { recordRetellEvents, type RetellRaw } from "./events-outbox.ts";
import { mayRecordMissed, missedRecord, rememberMissed, type MissedAgent } from "./missed.ts";
import { adoptOutbound, freeOutboundSlot } from "./outbound.ts";
import {
  applyDial,
  applyRetellEvent,
  applyStatus,
  finishUnanswered,
  isFinished,
  leftHold,
  transferUnderWay,
  withVoicemail,
  type DialRecord,
} from "./transitions.ts";

export type EventResult = "recorded" | "stale" | "unknown_call" | "other_registration";

/**
 * A Twilio status callback, ordered against the stored status. `reservation`: the signed id in an outbound call's
 * StatusCallback, which may arrive before POST /api/calls has stored the CallSid. `retentionMs`: how long a missed
 * call's answer is kept once it is over (line/missed.ts).
 */
export function recordStatus(sql: SqlStorage, update: StatusUpdate, receivedAt: number, retentionMs: number, reservation?: string): EventResult {
  const row = callRow(sql, update.callSid) ?? (reservation ? adoptOutbound(sql, reservation, update.callSid, update.accountSid) : null);
  if (!row) return "unknown_call";
  const { record, applied } = applyStatus(rowRecord(row), update, receivedAt);
  // A call over gives back its place on the line; a caller still held hung up (line/capacity.ts).
  if (isFinished(record)) freePlace(sql, update.callSid);
  const held = isFinished(record) ? callEnded(sql, update.callSid, receivedAt) : null;
  const next = held?.kind === "abandoned" ? leftHold(finishUnanswered(record), held, receivedAt) : finishUnanswered(record);
  writeCall(sql, update.callSid, next, row);
  rememberMissed(sql, next, retentionMs);
  if (isFinished(record)) freeOutboundSlot(sql, update.callSid);
  return applied ? "recorded" : "stale";
}

/**
 * A signed inbound status callback (no reservation), decided in one synchronous step: a call the line holds gets
 * it as recordStatus; one it holds no record of is recorded as missed (under `agent`, the number's mapping), unless
 * the line answered or placed it (line/missed.ts).
 */
export function recordInboundStatus(sql: SqlStorage, update: StatusUpdate, receivedAt: number, agent: MissedAgent | null, retentionMs: number): EventResult | "missed" {
  if (callRow(sql, update.callSid)) return recordStatus(sql, update, receivedAt, retentionMs);
  if (!mayRecordMissed(sql, update.callSid)) return "unknown_call";
  writeCall(sql, update.callSid, missedRecord(update.callSid, receivedAt, agent), null);
  recordStatus(sql, update, receivedAt, retentionMs);
  return "missed";
}

/**
 * How a `<Dial>` ended (dial-complete). While a transfer is under way, the report is of the AI leg the transfer
 * interrupted (vendor facts §A): kept, but it never changes the outcome, and it says "transferring".
 */
export function recordDial(sql: SqlStorage, dial: DialRecord): EventResult | "transferring" {
  const row = callRow(sql, dial.report.callSid);
  if (!row) return "unknown_call";
  const record = rowRecord(row);
  const transferring = dial.report.leg === "retell" && transferUnderWay(record) !== -1;
  // The AI leg's dial is over: its place on the line is free for the next caller (line/capacity.ts).
  if (dial.report.leg === "retell") freePlace(sql, dial.report.callSid);
  writeCall(sql, dial.report.callSid, applyDial(record, transferring ? { report: dial.report, endedAt: dial.endedAt } : dial), row);
  return transferring ? "transferring" : "recorded";
}

/** A Retell call event, for a call this line answered; `raw`: Retell's request, for call.analyzed and the pass-through. */
export function recordRetellEvent(sql: SqlStorage, callSid: string, event: RetellCallUpdate, receivedAt: number, raw?: RetellRaw): EventResult {
  const row = callRow(sql, callSid);
  if (!row) return "unknown_call";
  const result = applyRetellEvent(rowRecord(row), event, receivedAt);
  if (result.kind === "other_registration") return "other_registration";
  writeCall(sql, callSid, result.record, row);
  if (raw) recordRetellEvents(sql, result.record, { event: event.event, callId: event.callId, ...raw }, receivedAt);
  return "recorded";
}

/** One of Retell's other events (transcript_updated, …) for a call on this line, kept only to be passed through. */
export function passRetellEvent(sql: SqlStorage, callSid: string, retell: RetellRaw & { event: string; callId: string }, receivedAt: number): EventResult {
  const row = callRow(sql, callSid);
  if (!row) return "unknown_call";
  recordRetellEvents(sql, rowRecord(row), retell, receivedAt);
  return "recorded";
}

/** The Enqueue action: how the caller left the queue (line/capacity.ts), with the time held kept on their record. */
export function recordLeftHold(sql: SqlStorage, callSid: string, queueResult: string, now: number): HoldExit {
  const exit = leaveHold(sql, callSid, queueResult, now);
  const row = callRow(sql, callSid);
  if (exit.kind !== "unknown" && row) writeCall(sql, callSid, leftHold(rowRecord(row), exit, now), row);
  return exit;
}

/** A voicemail recording's status callback, for a call this line answered; "stale" when it changes nothing. */
export function recordVoicemail(sql: SqlStorage, callSid: string, recording: VoicemailRecording): EventResult {
  const row = callRow(sql, callSid);
  if (!row) return "unknown_call";
  const stored = rowRecord(row);
  const record = withVoicemail(stored, recording);
  if (record === stored) return "stale";
  writeCall(sql, callSid, record, row);
  return "recorded";
}
