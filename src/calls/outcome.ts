/**
 * What a voice webhook ended in, and the one place that maps each outcome to what the caller hears.
 */
import type { AgentLookupFailure } from "../agents/lookup.ts";
import type { RegisterFailure } from "../retell/register.ts";
import { dialNumber, dialSip, sayAndHangUp } from "../twilio/twiml.ts";

export const NOT_IN_SERVICE_MESSAGE = "Sorry, the number you have called is not in service. Goodbye.";
export const APOLOGY_MESSAGE = "Sorry, we cannot take your call right now. Please try again later. Goodbye.";

export type VoiceOutcome =
  | { kind: "connected"; retellCallId: string; sipUri: string }
  | { kind: AgentLookupFailure }
  | { kind: "fallback_dialed"; reason: RegisterFailure; fallbackNumber: string }
  | { kind: "retell_failed"; reason: RegisterFailure }
  | { kind: "internal_error" };

/** The TwiML verbs (inside <Response>) for an outcome. */
export function outcomeTwiml(outcome: VoiceOutcome): string {
  switch (outcome.kind) {
    case "connected":
      return dialSip(outcome.sipUri);
    case "fallback_dialed":
      return dialNumber(outcome.fallbackNumber);
    case "agent_not_found":
    case "agent_missing_retell_id":
    case "agent_config_invalid":
      return sayAndHangUp(NOT_IN_SERVICE_MESSAGE);
    case "agent_lookup_failed":
    case "retell_failed":
    case "internal_error":
      return sayAndHangUp(APOLOGY_MESSAGE);
  }
}

/** Retell recommends SIP over TCP (docs.retellai.com/deploy/custom-telephony); Twilio's default is UDP (tw-sip). */
export function retellSipUri(callId: string, sipHost: string): string {
  return `sip:${callId}@${sipHost};transport=tcp`;
}
