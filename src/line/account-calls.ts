/**
 * The account-wide daily cap on outbound calls (OUTBOUND_ACCOUNT_DAILY_LIMIT), counted beside the per-number
 * limits: the per-number caps alone multiply with every number the account calls from. One object counts for the
 * whole Worker (ACCOUNT_LINE), so every calling number draws on one count. Plain functions over the object's
 * SQLite storage, each a synchronous check-and-set (no await), so simultaneous requests never overshoot.
 *
 *   account_days(day TEXT PRIMARY KEY,   -- UTC day, YYYY-MM-DD
 *                started INTEGER NOT NULL)  -- outbound calls started that day, from any number
 */

/** The name of the one object that counts the account's calls (no phone line can be called that: lines are E.164). */
export const ACCOUNT_LINE = "outbound-account";

export type AccountTake = { ok: true; day: string } | { ok: false; started: number };

export function createAccountTables(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS account_days (day TEXT PRIMARY KEY NOT NULL, started INTEGER NOT NULL)");
}

/** Counts one more call on `day` when fewer than `limit` have started; past days are forgotten. */
export function takeAccountCall(sql: SqlStorage, day: string, limit: number): AccountTake {
  sql.exec("DELETE FROM account_days WHERE day < ?", day);
  const started = sql.exec<{ started: number }>("SELECT started FROM account_days WHERE day = ?", day).toArray()[0]?.started ?? 0;
  if (started >= limit) return { ok: false, started };
  sql.exec("INSERT INTO account_days (day, started) VALUES (?, 1) ON CONFLICT (day) DO UPDATE SET started = started + 1", day);
  return { ok: true, day };
}

/** Gives back a call counted on `day` that was never placed (its number's limit, or Twilio, refused it). */
export function returnAccountCall(sql: SqlStorage, day: string): void {
  sql.exec("UPDATE account_days SET started = MAX(started - 1, 0) WHERE day = ?", day);
}
