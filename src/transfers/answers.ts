/**
 * What the transfer function answers Retell, which hands it to the model: `{ ok, message }` with one sentence
 * the agent can act on (tell the caller, offer to help another way). Never an internal reason.
 */
import type { TransferAttempt } from "../records/transfer-attempt.ts";
import { MAX_ANNOUNCE_CHARS } from "./dial.ts";
import { MAX_TRANSFERS_PER_CALL } from "../line/transitions.ts";

export interface TransferReply {
  ok: boolean;
  message: string;
}

/** Why a request was refused before any Twilio update was made. */
export type TransferRefusal =
  | { reason: "unknown_call" }
  | { reason: "call_not_live" }
  | { reason: "not_configured" }
  | { reason: "unavailable" }
  | { reason: "no_such_destination"; asked: string; names: string[] }
  | { reason: "too_many_transfers" }
  | { reason: "announce_too_long" };

/** The longest part of the model's own `destination` repeated back to it. */
const MAX_ECHO_CHARS = 40;

export function refusalReply(refusal: TransferRefusal): TransferReply {
  const refuse = (message: string): TransferReply => ({ ok: false, message });
  switch (refusal.reason) {
    case "unknown_call":
      return refuse("This call cannot be transferred from here; tell the caller and offer to help another way.");
    case "call_not_live":
      return refuse("This call is no longer connected to you, so it cannot be transferred.");
    case "not_configured":
      return refuse("Transfers are not set up for this line; tell the caller nobody can be put through and offer to take a message.");
    case "unavailable":
      return refuse("Transfers are not available right now; tell the caller and offer to take a message or help another way.");
    case "no_such_destination":
      return refuse(`There is no transfer destination called "${refusal.asked.slice(0, MAX_ECHO_CHARS)}"; the destinations are: ${refusal.names.join(", ")}.`);
    case "too_many_transfers":
      return refuse(`This call has already been transferred ${MAX_TRANSFERS_PER_CALL} times, the most allowed; offer to take a message instead.`);
    case "announce_too_long":
      return refuse(`The announcement is longer than ${MAX_ANNOUNCE_CHARS} characters; try again with a shorter one.`);
  }
}

/** The answer for an attempt: the same for the request that made it, a repeat of it, and any request while it is under way. */
export function attemptReply(attempt: TransferAttempt): TransferReply {
  switch (attempt.update) {
    case "accepted":
      return { ok: true, message: `The caller is being put through to ${attempt.destination} now.` };
    case "refused":
      return {
        ok: false,
        message: `The transfer to ${attempt.destination} did not go through, so the caller is still with you: tell them and offer to take a message or help another way.`,
      };
    case "pending":
      return { ok: false, message: `A transfer to ${attempt.destination} is still being set up; wait a moment before trying again.` };
  }
}
