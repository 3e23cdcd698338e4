/**
 * Idempotency of the voice webhook. Twilio retries a webhook (connection overrides such as `#rc=2&rp=ct,rt`,
 * https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides), and a captured signed request can be
 * replayed. A webhook for a CallSid whose record already holds a Retell call id answers with that call's SIP
 * TwiML and registers nothing.
 *
 * What is guaranteed: once the first webhook's record is written (in waitUntil, right after its answer), every
 * later webhook for that CallSid registers nothing and dials the same Retell call.
 *
 * What is not: two first-time webhooks that overlap (the second arrives before the first has registered and
 * written its record) both miss here and both register. Twilio dials the TwiML of the request it kept; the other
 * registration is never dialed and Retell ends it after 5 minutes (`registered_call_timeout`). The record keeps
 * the registration written last, and Retell events for the other one are not joined to it (calls/records.ts).
 * Closing that gap needs a claim written before registering, i.e. a serial D1 write (or a Durable Object hop) on
 * every first-time call; this bridge does not pay that for a rare retry. Likewise, while D1 is down or slow, a
 * retry registers again: the caller being answered matters more than a spare registration.
 */
import { withDeadline } from "../deadline.ts";
import { log } from "../log.ts";
import { findRetellCallId } from "./records.ts";

/**
 * The most the lookup may take: it runs alongside the KV lookup, so a slow D1 would hold up every call. D1's
 * primary answers within a few hundred ms from anywhere; beyond this it is in trouble and the call goes ahead.
 */
export const REPLAY_LOOKUP_TIMEOUT_MS = 1_000;

/** The Retell call id already registered for `callSid`, or null (also when D1 fails or is too slow: logged). */
export async function priorRegistration(db: D1Database, callSid: string, timeoutMs = REPLAY_LOOKUP_TIMEOUT_MS): Promise<string | null> {
  try {
    return await withDeadline(findRetellCallId(db, callSid), timeoutMs, "D1 replay lookup");
  } catch (error) {
    log("warn", "calls.replay_check_failed", { callSid, detail: error instanceof Error ? error.message : String(error) });
    return null;
  }
}
