/**
 * The voice webhook's time: Twilio drops a webhook after 15 s (its "hard upper timeout"), and the KV reads, the
 * rules, the pre-call hook and Retell's registration all come out of it (docs/pre-call-hook.md, "Time").
 */

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
