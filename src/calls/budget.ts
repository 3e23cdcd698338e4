/**
 * The voice webhook's time: Twilio drops a webhook after 15 s (its "hard upper timeout"), and the KV reads, the
 * rules, the pre-call hook and Retell's registration all come out of it (docs/pre-call-hook.md, "Time").
 */
import { MAX_HOOK_TIMEOUT_MS } from "../hook/settings.ts";

/** Everything must be decided by then: the last second carries the TwiML to Twilio and absorbs clock jitter. */
export const ANSWER_WITHIN_MS = 14_000;

/** What remains of ANSWER_WITHIN_MS for a webhook received at `receivedAt` (never below 0). */
export function timeLeftMs(receivedAt: number, now = Date.now()): number {
  return Math.max(0, ANSWER_WITHIN_MS - (now - receivedAt));
}

/** Retell's budget: RETELL_TIMEOUT_MS, or less when the time left is less. */
export function retellBudgetMs(configuredMs: number, receivedAt: number, now = Date.now()): number {
  return Math.min(configuredMs, timeLeftMs(receivedAt, now));
}

/**
 * How long a copy of the webhook waits for the one holding the call's claim: that one may spend a hook's whole
 * deadline (at most MAX_HOOK_TIMEOUT_MS; the copy cannot know the holder's hook before its own claim returns), then
 * Retell's budget; never past ANSWER_WITHIN_MS of the copy's own arrival, so the copy still answers Twilio in time.
 */
export function copyWaitMs(retellMs: number, receivedAt: number, now = Date.now()): number {
  return Math.min(MAX_HOOK_TIMEOUT_MS + retellMs, timeLeftMs(receivedAt, now));
}
