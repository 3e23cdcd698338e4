/**
 * Outbound limits per calling number (OUTBOUND_MAX_CONCURRENT, OUTBOUND_DAILY_LIMIT), counted by the number's
 * line object (line/object.ts), which reserves a slot before Twilio is asked to place the call. Plain functions.
 */
import type { Bindings } from "../env.ts";
import { ConfigError } from "../config.ts";

/** Calls in progress at once per number: enough for a small campaign, few enough that a mistake costs little. */
export const DEFAULT_MAX_CONCURRENT = 5;
/** Calls started per number per UTC day. */
export const DEFAULT_DAILY_LIMIT = 500;
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
}

function limit(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  // A cost control that cannot be read must not fall open: the operator fixes the var.
  if (!Number.isSafeInteger(n) || n < 0) throw new ConfigError(`${name} must be a whole number of 0 or more, not ${JSON.stringify(value)}`);
  return n;
}

export function outboundLimits(env: Pick<Bindings, "OUTBOUND_MAX_CONCURRENT" | "OUTBOUND_DAILY_LIMIT">): OutboundLimits {
  return {
    maxConcurrent: limit(env.OUTBOUND_MAX_CONCURRENT, "OUTBOUND_MAX_CONCURRENT", DEFAULT_MAX_CONCURRENT),
    dailyLimit: limit(env.OUTBOUND_DAILY_LIMIT, "OUTBOUND_DAILY_LIMIT", DEFAULT_DAILY_LIMIT),
  };
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
