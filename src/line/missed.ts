/**
 * Missed calls: inbound calls that reached the number while the bridge did not answer (Twilio's fallback URL took
 * them, or the voice webhook failed or never reached the Worker), known only from Twilio's signed status callback
 * (routes/status.ts, calls/missed.ts). Such a call gets one record, outcome `missed`, so an operator sees the
 * Worker's own availability from Twilio's side. Plain functions over the line object's SQLite storage.
 *
 * One record per CallSid, never a second, emptier one: a CallSid the line has answered (its answer is kept
 * RETENTION_DAYS in `answers`, line/answers.ts, after the call itself is forgotten) or placed (line/outbound.ts) is
 * never recorded as missed. Once Twilio reports a missed call over, `{ kind: "missed" }` is stored as its answer:
 * a later voice webhook for it (a replay of a captured one, or one delayed past the call's end) is answered
 * `<Hangup/>` from it, registering nothing and counting against no limit, and a callback after the line forgets
 * the call finds the CallSid known. A missed record made from a status that is not final (the call still going,
 * its voice webhook still in flight) is not final either: that webhook claims the call and its answer replaces
 * the outcome.
 */
import type { CallRecord } from "../records/list.ts";
import { storeAnswer, storedAnswer } from "./answers.ts";
import { placedOutbound } from "./outbound.ts";
import { isFinished, newRecord } from "./transitions.ts";

/** The number's mapping in KV when the callback came, when it has one: the agent the call would have gone to. */
export interface MissedAgent {
  agentKey: string;
  retellAgentId: string;
}

export const MISSED_OUTCOME = { kind: "missed" } as const;

/** Whether a call the line holds no record of may be recorded as missed: never answered nor placed by this line. */
export function mayRecordMissed(sql: SqlStorage, callSid: string): boolean {
  return !storedAnswer(sql, callSid) && !placedOutbound(sql, callSid);
}

/** A missed call's record before its status is applied (which fills the account, From and To as Twilio sent them). */
export function missedRecord(callSid: string, receivedAt: number, agent: MissedAgent | null): CallRecord {
  return {
    ...newRecord(callSid, receivedAt),
    direction: "inbound",
    outcome: "missed",
    agentKey: agent?.agentKey ?? null,
    retellAgentId: agent?.retellAgentId ?? null,
  };
}

/** Once a missed call is over, its answer is `missed`, kept as long as answers are (`keepMs`); any other record is left alone. */
export function rememberMissed(sql: SqlStorage, record: CallRecord, keepMs: number): void {
  if (record.outcome !== "missed" || !isFinished(record) || storedAnswer(sql, record.callSid)) return;
  storeAnswer(sql, record.callSid, MISSED_OUTCOME, record.updatedAt, keepMs);
}
