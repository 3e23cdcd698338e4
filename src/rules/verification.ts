/**
 * SHAKEN/STIR caller verification: Twilio verifies the identity header of incoming US calls and passes the result
 * as `StirVerstat` on the voice webhook, only for calls that carried one. Its values, as Twilio lists them
 * (https://www.twilio.com/docs/voice/trusted-calling-with-shakenstir, "StirVerstat parameter / X-Twilio-VerStat
 * header value"): `TN-Validation-Passed-A|B|C`, `TN-Validation-Failed-A|B|C`, `TN-Validation-Failed` (no level),
 * `No-TN-Validation`, `NULL`, and each passed or failed value again with `-Diverted` or `-Passthrough` appended.
 *
 * Twilio defines `NULL` exactly as `TN-Validation-Failed` ("unable to verify the contents of the SHAKEN PASSporT
 * ... No attestation level determined"), so it is a failure here too. `No-TN-Validation` (the PASSporT was
 * malformed or did not match the call), an absent parameter and any value not on the list are `none`.
 * Shared by the Worker and the CLI: plain TypeScript.
 */

/** What Retell's agent learns as the dynamic variable `caller_verification`. */
export type CallerVerification = "passed-A" | "passed-B" | "passed-C" | "failed" | "none";

/** An agent's `blockUnverified`: reject callers whose verification failed, or also those with only C attestation. */
export const BLOCK_UNVERIFIED = ["failed", "failed-or-C"] as const;
export type BlockUnverified = (typeof BLOCK_UNVERIFIED)[number];

const PASSED = /^TN-Validation-Passed-([ABC])(?:-Diverted|-Passthrough)?$/;
const FAILED = /^TN-Validation-Failed(?:-[ABC])?(?:-Diverted|-Passthrough)?$/;

export function callerVerification(stirVerstat: string | undefined): CallerVerification {
  if (stirVerstat === undefined) return "none";
  const passed = PASSED.exec(stirVerstat);
  if (passed) return `passed-${passed[1] as "A" | "B" | "C"}`;
  if (FAILED.test(stirVerstat) || stirVerstat === "NULL") return "failed";
  return "none";
}

/** Whether `policy` turns away a caller whose verification is `verification`. */
export function rejectsUnverified(policy: BlockUnverified | undefined, verification: CallerVerification): boolean {
  if (policy === undefined) return false;
  return verification === "failed" || (policy === "failed-or-C" && verification === "passed-C");
}

export function isBlockUnverified(value: unknown): value is BlockUnverified {
  return typeof value === "string" && (BLOCK_UNVERIFIED as readonly string[]).includes(value);
}
