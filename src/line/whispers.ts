/**
 * Transfer announcements (the whisper the person hears before the caller is connected), kept on the line under
 * an opaque id for as long as the person's phone can ring, so the sentence never travels in a URL (where it would
 * land in Twilio's and Cloudflare's request logs) and never reaches the call's record or D1. Plain functions over
 * the object's SQLite storage:
 *
 *   whispers(id TEXT PRIMARY KEY,        -- opaque (random UUID), the only thing in the whisper URL
 *            call_sid TEXT NOT NULL,     -- the call being transferred (Twilio's ParentCallSid on the whisper request)
 *            text TEXT NOT NULL,         -- the announcement, at most MAX_ANNOUNCE_CHARS
 *            expires_at INTEGER NOT NULL)
 */

/** The longest a whisper can still be asked for: the longest ring (600 s, `<Dial timeout>`) with room to spare. */
export const WHISPER_TTL_MS = 15 * 60 * 1_000;

export function createWhisperTables(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS whispers (id TEXT PRIMARY KEY NOT NULL, call_sid TEXT NOT NULL, text TEXT NOT NULL, expires_at INTEGER NOT NULL)");
}

/** Keeps `text` for the transfer of `callSid`; returns its opaque id. */
export function keepWhisper(sql: SqlStorage, callSid: string, text: string, now: number): string {
  const id = crypto.randomUUID();
  sql.exec("INSERT INTO whispers (id, call_sid, text, expires_at) VALUES (?, ?, ?, ?)", id, callSid, text, now + WHISPER_TTL_MS);
  return id;
}

/** The announcement under `id` for the call `callSid` (when Twilio names it), or null: unknown, expired, or another call's. */
export function readWhisper(sql: SqlStorage, id: string, callSid: string | undefined, now: number): string | null {
  const row = sql.exec<{ call_sid: string; text: string; expires_at: number }>("SELECT call_sid, text, expires_at FROM whispers WHERE id = ?", id).toArray()[0];
  if (!row || row.expires_at <= now || (callSid !== undefined && row.call_sid !== callSid)) return null;
  return row.text;
}

/** Forgets whispers past their time; returns how many. */
export function expireWhispers(sql: SqlStorage, now: number): number {
  return sql.exec("DELETE FROM whispers WHERE expires_at <= ?", now).rowsWritten;
}

/** When the next whisper expires, or null when none is kept. */
export function nextWhisperExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ due: number | null }>("SELECT MIN(expires_at) AS due FROM whispers").one().due;
}
