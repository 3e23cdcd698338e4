/**
 * The voice claim: the first voice webhook for a call claims it and registers it with Retell; every other one,
 * concurrent or later, answers with that registration. Plain functions over the line object's SQLite storage: the
 * claim lives in the `calls` table's claim_token and claimed_at (line/calls-table.ts), the answer given in
 * `answers` (line/answers.ts); the object keeps the webhooks waiting for a claim's answer in memory (line/waiters.ts).
 */
import { retellSipUri } from "../retell/register.ts";
import type { StoredHook } from "./stored-hook.ts";
import { mayAnswerAgain, storeAnswer, storedAnswer } from "./answers.ts";
import { callRow, CLAIM_TTL_MS, rowHook, rowRecord, writeCall } from "./calls-table.ts";
import { leftQueue, settlePlace } from "./capacity.ts";
import { answerVoice, newRecord, receiveVoice, type VoiceAnswer } from "./transitions.ts";
import type { VoiceOutcome } from "./voice-outcome.ts";

export type VoiceClaim =
  /**
   * This webhook answers the call: it registers with Retell, then calls completeVoice with the token. `hook`: the
   * pre-call hook's answer when an earlier webhook for the call already asked it (it is never asked twice).
   */
  | { kind: "claimed"; token: string; hook?: StoredHook }
  /** Another webhook for the call has answered (or answered while this one waited): answer the same. */
  | { kind: "answered"; outcome: VoiceOutcome }
  /** Another webhook is still registering the call and did not finish within this one's wait. */
  | { kind: "still_registering" };

/** The voice webhook's details a claim records on the call. */
export interface VoiceCall {
  accountSid?: string;
  from: string;
  to: string;
  receivedAt: number;
}

/**
 * Claims the call, or says how it was answered; `wait`: another webhook's live claim, whose answer may come
 * within `ms`. Once an answer is stored (kept RETENTION_DAYS), every later webhook is answered from it, even after
 * the call itself is forgotten; only a failed answer may be made again, by a webhook within REANSWER_WINDOW_MS of
 * it (Twilio's retry), never by one that was waiting for it. A claim older than CLAIM_TTL_MS is dead and taken over.
 */
export function takeClaim(sql: SqlStorage, callSid: string, call: VoiceCall, now: number, sipHost: string): Exclude<VoiceClaim, { kind: "still_registering" }> | { kind: "wait"; ms: number } {
  const row = callRow(sql, callSid);
  if (row?.claim_token && row.claimed_at !== null && now - row.claimed_at < CLAIM_TTL_MS) {
    return { kind: "wait", ms: row.claimed_at + CLAIM_TTL_MS - now };
  }
  const stored = storedAnswer(sql, callSid);
  const resumed = stored?.outcome.kind === "queued" && leftQueue(sql, callSid);
  if (stored && !resumed && !mayAnswerAgain(stored, now)) return { kind: "answered", outcome: stored.outcome };
  if (!stored && row && !row.claim_token) {
    // A call answered before answers were kept: its connected answer still stands.
    const record = rowRecord(row);
    if (record.voiceAnsweredAt !== null && record.retellCallId !== null) {
      return { kind: "answered", outcome: { kind: "connected", retellCallId: record.retellCallId, sipUri: retellSipUri(record.retellCallId, sipHost) } };
    }
  }
  const token = crypto.randomUUID();
  const record = receiveVoice(row ? rowRecord(row) : newRecord(callSid, call.receivedAt), call, call.receivedAt);
  writeCall(sql, callSid, record, row, { claim_token: token, claimed_at: now });
  // The hook's answer lives on the call's row (calls-table.ts): a call new to the line has none.
  const hook = row ? rowHook(row) : null;
  return { kind: "claimed", token, ...(hook && { hook }) };
}

/**
 * Stores the answer of the webhook holding the claim (and the hook's answer it used). Returns "taken_over" when the
 * claim was taken over meanwhile (this webhook outlived CLAIM_TTL_MS): the newer one's answer stands; "freed" when
 * the answer gave back the call's place on the line (capacity.ts), so a held caller may take it.
 */
export function completeClaim(
  sql: SqlStorage,
  callSid: string,
  token: string,
  given: { answer: VoiceAnswer; outcome: VoiceOutcome; hook?: StoredHook | undefined },
  now: number,
  retentionMs: number,
): "stored" | "freed" | "taken_over" {
  const { answer, outcome, hook } = given;
  const row = callRow(sql, callSid);
  if (row?.claim_token && row.claim_token !== token) return "taken_over";
  const record = answerVoice(row ? rowRecord(row) : newRecord(callSid, answer.receivedAt), answer);
  writeCall(sql, callSid, record, row, { claim_token: null, claimed_at: null }, hook);
  const freed = settlePlace(sql, callSid, outcome.kind === "connected", now);
  storeAnswer(sql, callSid, outcome, answer.answeredAt, retentionMs);
  return freed ? "freed" : "stored";
}
