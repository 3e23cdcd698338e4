/**
 * The pre-call hook's answer for each call on the line, kept so the hook is asked once per CallSid: a Twilio retry
 * of the voice webhook and the way back to the AI after a failed transfer reuse it (docs/pre-call-hook.md).
 * Plain functions over the line object's SQLite storage (line/object.ts):
 *
 *   hook_answers(call_sid TEXT PRIMARY KEY,
 *                stored TEXT NOT NULL,     -- JSON StoredHook (line/stored-hook.ts): result, ms, the answer to apply
 *                stored_at INTEGER NOT NULL)
 *
 * Forgotten with the call: a row whose call the line no longer holds is deleted by the object's alarm. The
 * answer (the operator's variables and metadata) stays here: it is never copied to D1 nor logged.
 */
import type { StoredHook } from "./stored-hook.ts";

export function createHookAnswers(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS hook_answers (call_sid TEXT PRIMARY KEY NOT NULL, stored TEXT NOT NULL, stored_at INTEGER NOT NULL)");
}

/** Keeps the first answer for a call: a later one never replaces it. */
export function storeHookAnswer(sql: SqlStorage, callSid: string, hook: StoredHook, now: number): void {
  sql.exec("INSERT INTO hook_answers (call_sid, stored, stored_at) VALUES (?, ?, ?) ON CONFLICT (call_sid) DO NOTHING", callSid, JSON.stringify(hook), now);
}

export function readHookAnswer(sql: SqlStorage, callSid: string): StoredHook | null {
  const row = sql.exec<{ stored: string }>("SELECT stored FROM hook_answers WHERE call_sid = ?", callSid).toArray()[0];
  return row ? (JSON.parse(row.stored) as StoredHook) : null;
}

/** Deletes the answers of calls the line has forgotten (`calls` is the object's table of live calls); returns how many. */
export function forgetHookAnswers(sql: SqlStorage): number {
  return sql.exec("DELETE FROM hook_answers WHERE call_sid NOT IN (SELECT call_sid FROM calls)").rowsWritten;
}
