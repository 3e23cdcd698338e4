/**
 * The two Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`): calls per caller number and per dialed
 * number. Each `limit()` counts one call; the counters live in the Cloudflare location and sync in the background,
 * so a check adds no network round trip, and the limits are approximate
 * (developers.cloudflare.com/workers/runtime-apis/bindings/rate-limit).
 */
import { log } from "../log.ts";
import { normalizeE164 } from "../phone.ts";
import { ANONYMOUS, callerNumber } from "./callers.ts";
import type { LimitResults } from "./decide.ts";

export interface Limiters {
  CALLER_RATE_LIMITER: RateLimit;
  NUMBER_RATE_LIMITER: RateLimit;
}

/** What a call that is not counted gets: within both limits. */
export const UNCOUNTED: LimitResults = { caller: true, number: true };

/** `limit()` for one key. A binding that fails lets the call through (logged): an outage of it must not stop calls. */
async function within(limiter: RateLimit, key: string, binding: keyof Limiters): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success;
  } catch (error) {
    log("error", "rules.rate_limiter_failed", { binding, detail: error instanceof Error ? error.message : String(error) });
    return true;
  }
}

/**
 * Counts a call against the caller's limit, then, if it is within that, against the dialed number's: one caller
 * over their own limit cannot use up the number's share for everyone else. Callers whose number is withheld
 * cannot be told apart, so they share one counter per dialed number (`anonymous:<number>`): withheld callers of
 * one line never use up another line's.
 */
export async function countCall(limiters: Limiters, from: string, to: string): Promise<LimitResults> {
  const dialed = normalizeE164(to) ?? to;
  const caller = await within(limiters.CALLER_RATE_LIMITER, callerNumber(from) ?? `${ANONYMOUS}:${dialed}`, "CALLER_RATE_LIMITER");
  if (!caller) return { caller, number: true };
  return { caller, number: await within(limiters.NUMBER_RATE_LIMITER, dialed, "NUMBER_RATE_LIMITER") };
}
