/**
 * Outbound limits per calling number (OUTBOUND_MAX_CONCURRENT, OUTBOUND_DAILY_LIMIT), counted by the number's
 * line object (line/outbound.ts), which reserves a slot before Twilio is asked to place the call; and for the
 * whole account (OUTBOUND_ACCOUNT_DAILY_LIMIT), counted by one object (line/account-calls.ts). Plain functions,
 * shared with the CLI (`doctor` and `deploy` check the vars with them).
 */

/** Calls in progress at once per number: enough for a small campaign, few enough that a mistake costs little. */
export const DEFAULT_MAX_CONCURRENT = 5;
/** Calls started per number per UTC day. */
export const DEFAULT_DAILY_LIMIT = 500;
/** Calls started per UTC day from all numbers together: the per-number limits alone multiply with the numbers. */
export const DEFAULT_ACCOUNT_DAILY_LIMIT = 1_000;
/**
 * The longest an outbound call may last (Twilio's `TimeLimit`, seconds; Twilio's own default is 4 h): bounds the
 * cost of a call the agent never ends, and how long a slot can be held.
 */
export const OUTBOUND_TIME_LIMIT_S = 3_600;
/** Twilio rings for 60 s by default and may add about 5 s (Calls resource, `Timeout`). */
const RING_MS = 65_000;
/**
 * A slot whose call Twilio never reports final (no status callback arrived) is freed this long after it was
 * reserved: the call cannot still be ringing or in progress by then.
 */
export const SLOT_TIMEOUT_MS = RING_MS + OUTBOUND_TIME_LIMIT_S * 1_000 + 5 * 60_000;

export interface OutboundLimits {
  maxConcurrent: number;
  dailyLimit: number;
  /** OUTBOUND_ACCOUNT_DAILY_LIMIT: calls per UTC day from every number together. */
  accountDailyLimit: number;
}

export type LimitsRead = { ok: true; limits: OutboundLimits } | { ok: false; message: string };

/** The limits from the vars; a value that is not a whole number is refused: a cost control must not fall open. */
export function outboundLimits(vars: { OUTBOUND_MAX_CONCURRENT?: string; OUTBOUND_DAILY_LIMIT?: string; OUTBOUND_ACCOUNT_DAILY_LIMIT?: string }): LimitsRead {
  const read = (value: string | undefined, fallback: number): number | null => {
    if (value === undefined || value.trim() === "") return fallback;
    const n = Number(value);
    return Number.isSafeInteger(n) && n >= 0 ? n : null;
  };
  const maxConcurrent = read(vars.OUTBOUND_MAX_CONCURRENT, DEFAULT_MAX_CONCURRENT);
  const dailyLimit = read(vars.OUTBOUND_DAILY_LIMIT, DEFAULT_DAILY_LIMIT);
  if (maxConcurrent === null) return { ok: false, message: `OUTBOUND_MAX_CONCURRENT must be a whole number of 0 or more, not ${JSON.stringify(vars.OUTBOUND_MAX_CONCURRENT)}` };
  if (dailyLimit === null) return { ok: false, message: `OUTBOUND_DAILY_LIMIT must be a whole number of 0 or more, not ${JSON.stringify(vars.OUTBOUND_DAILY_LIMIT)}` };
  const accountDailyLimit = read(vars.OUTBOUND_ACCOUNT_DAILY_LIMIT, DEFAULT_ACCOUNT_DAILY_LIMIT);
  if (accountDailyLimit === null) return { ok: false, message: `OUTBOUND_ACCOUNT_DAILY_LIMIT must be a whole number of 0 or more, not ${JSON.stringify(vars.OUTBOUND_ACCOUNT_DAILY_LIMIT)}` };
  return { ok: true, limits: { maxConcurrent, dailyLimit, accountDailyLimit } };
}

/** The UTC day of `ms`, `YYYY-MM-DD`: the daily limit resets at 00:00 UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export type LimitCheck = { ok: true } | { ok: false; limit: "concurrent" | "daily"; message: string };

/** Whether one more call may start, given the calls holding a slot and those started today. */
export function checkLimits(active: number, startedToday: number, limits: OutboundLimits): LimitCheck {
  if (active >= limits.maxConcurrent) {
    return { ok: false, limit: "concurrent", message: `this number already has ${active} calls in progress, the most OUTBOUND_MAX_CONCURRENT (${limits.maxConcurrent}) allows; try again when one ends` };
  }
  if (startedToday >= limits.dailyLimit) {
    return { ok: false, limit: "daily", message: `this number has started ${startedToday} calls today (UTC), the most OUTBOUND_DAILY_LIMIT (${limits.dailyLimit}) allows; the count resets at 00:00 UTC` };
  }
  return { ok: true };
}
