/**
 * One transfer attempt as the call's record keeps it (the `transfers` JSON column, docs/storage.md). Shared by
 * the Worker and the CLI: plain TypeScript.
 */

/** Twilio's answer to the call update that moved the call: still awaited, taken, or refused (or timed out). */
export type TransferUpdate = "pending" | "accepted" | "refused";

/** DialCallStatus values after which the caller goes back to the AI: nobody took the call (tw-dial). */
export const UNANSWERED_DIAL_STATUSES = ["busy", "no-answer", "failed", "canceled"] as const;

export interface TransferAttempt {
  /** The destination's name as configured in the agent's `transfers`. */
  destination: string;
  /** When the agent asked for it (ms). */
  requestedAt: number;
  /** The Retell call (AI leg) that asked for it. */
  retellCallId: string;
  /** Identifies the request (destination and announcement), so a repeat of it gets the same answer. */
  requestKey: string;
  update: TransferUpdate;
  /** Why Twilio did not take the update (`twilio_timeout`, `twilio_http_400_21220`, ...); null once accepted. */
  updateError: string | null;
  /** Twilio's DialCallStatus for the person's leg, from transfer-complete. */
  dialStatus: string | null;
  /** DialCallDuration, seconds. */
  dialDurationS: number | null;
  dialEndedAt: number | null;
  /** The new Retell call (AI leg) the caller went back to when nobody answered. */
  returnRetellCallId: string | null;
  /** Why the caller could not go back to the AI (a Retell registration failure), when that happened. */
  returnError: string | null;
}

/** A transfer just asked for: its call update awaited, nothing else known yet. */
export function newAttempt(request: Pick<TransferAttempt, "destination" | "requestedAt" | "retellCallId" | "requestKey">): TransferAttempt {
  return {
    destination: request.destination,
    requestedAt: request.requestedAt,
    retellCallId: request.retellCallId,
    requestKey: request.requestKey,
    update: "pending",
    updateError: null,
    dialStatus: null,
    dialDurationS: null,
    dialEndedAt: null,
    returnRetellCallId: null,
    returnError: null,
  };
}

/** Whether the call is being moved to a person right now: the update is awaited, or taken and not yet reported on. */
export function isUnderWay(attempt: TransferAttempt): boolean {
  return attempt.update === "pending" || (attempt.update === "accepted" && attempt.dialStatus === null);
}

export function isUnanswered(dialStatus: string | null): boolean {
  return (UNANSWERED_DIAL_STATUSES as readonly (string | null)[]).includes(dialStatus);
}
