/**
 * What a voice webhook ended in, and the one place that maps each outcome to what the caller hears.
 */
import type { AgentLookupFailure } from "../agents/schema.ts";
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

/** Where Twilio reports how each kind of `<Dial>` ended (see calls/dial-complete.ts). */
export interface DialActions {
  /** For the SIP leg to Retell: a failure there sends the caller to the fallback number. */
  retell: string;
  /** For the fallback number's leg: a failure there ends in an apology. */
  fallback: string;
}

/** The TwiML verbs (inside <Response>) for an outcome; without `actions`, a dial's end ends the call. */
export function outcomeTwiml(outcome: VoiceOutcome, actions?: DialActions): string {
  switch (outcome.kind) {
    case "connected":
      return dialSip(outcome.sipUri, actions && { action: actions.retell });
    case "fallback_dialed":
      return dialNumber(outcome.fallbackNumber, actions && { action: actions.fallback });
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
