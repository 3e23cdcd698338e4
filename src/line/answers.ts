/**
 * Every voice webhook answer a line has given, by CallSid, kept as long as the call's record (RETENTION_DAYS),
 * so a replay of a captured signed webhook (Twilio's signatures carry no timestamp) is answered from it: never
 * decided again (no new Retell registration, no rate-limit count, no rewritten outcome), even after the line has
 * forgotten the call itself (line/object.ts forgets finished calls after an hour). No D1 read on the caller's path.
 *
 * The one exception is Twilio retrying an answer it never received: after a failed answer (Retell failed, KV or
 * the Worker failed), a webhook within REANSWER_WINDOW_MS may answer anew; never later. Plain functions over
 * the object's SQLite storage:
 *
 *   answers(call_sid TEXT PRIMARY KEY,
 *           outcome TEXT NOT NULL,         -- JSON VoiceOutcome (line/voice-outcome.ts): what the webhook answered
 *           answered_at INTEGER NOT NULL,  -- ms
 *           expires_at INTEGER NOT NULL)   -- answered_at + RETENTION_DAYS: forgotten then, with the D1 record
 */
import type { VoiceOutcome } from "./voice-outcome.ts";

/** Twilio gives up on a webhook after 15 s (its hard upper timeout): a retry of one never answered comes within it. */
export const REANSWER_WINDOW_MS = 15_000;

/** Answers that may be made again within the window: the caller got an apology or a fallback because something failed. */
const FAILED_OUTCOMES = new Set<VoiceOutcome["kind"]>(["retell_failed", "fallback_dialed", "internal_error", "agent_lookup_failed"]);

export interface StoredAnswer {
  outcome: VoiceOutcome;
  answeredAt: number;
}

export function createAnswerTables(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS answers (
    call_sid TEXT PRIMARY KEY NOT NULL,
    outcome TEXT NOT NULL,
    answered_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  )`);
}

/** Stores (or replaces, for an answer made again within the window) the answer given for `callSid`. */
export function storeAnswer(sql: SqlStorage, callSid: string, outcome: VoiceOutcome, answeredAt: number, keepMs: number): void {
  sql.exec(
    `INSERT INTO answers (call_sid, outcome, answered_at, expires_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (call_sid) DO UPDATE SET outcome = ?2, answered_at = ?3, expires_at = ?4`,
    callSid,
    JSON.stringify(outcome),
    answeredAt,
    answeredAt + keepMs,
  );
}

export function storedAnswer(sql: SqlStorage, callSid: string): StoredAnswer | null {
  const row = sql.exec<{ outcome: string; answered_at: number }>("SELECT outcome, answered_at FROM answers WHERE call_sid = ?", callSid).toArray()[0];
  return row ? { outcome: JSON.parse(row.outcome) as VoiceOutcome, answeredAt: row.answered_at } : null;
}

/** Whether a webhook arriving at `now` may answer anew: only after a failed answer, and only within the window. */
export function mayAnswerAgain(stored: StoredAnswer, now: number): boolean {
  return FAILED_OUTCOMES.has(stored.outcome.kind) && now - stored.answeredAt < REANSWER_WINDOW_MS;
}

/** Forgets answers past their retention; returns how many. */
export function expireAnswers(sql: SqlStorage, now: number): number {
  return sql.exec("DELETE FROM answers WHERE expires_at <= ?", now).rowsWritten;
}

/** When the next answer expires, or null when none is kept. */
export function nextAnswerExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>("SELECT MIN(expires_at) AS due FROM answers").one().due;
}
