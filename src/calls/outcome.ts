/**
 * What a voice webhook ended in, and the one place that maps each outcome to what the caller hears.
 */
import type { AgentLookupFailure } from "../agents/schema.ts";
import type { RegisterFailure } from "../retell/register.ts";
import type { BlockReason, ClosedReason, LimitReason, RuleDecision } from "../rules/decide.ts";
import { dialNumber, dialSip, reject, sayAndHangUp } from "../twilio/twiml.ts";

export const NOT_IN_SERVICE_MESSAGE = "Sorry, the number you have called is not in service. Goodbye.";
export const APOLOGY_MESSAGE = "Sorry, we cannot take your call right now. Please try again later. Goodbye.";
export const RATE_LIMITED_MESSAGE = "Sorry, this line is too busy to take your call. Please try again in a few minutes. Goodbye.";

export type VoiceOutcome =
  /** `reason`: the after-hours agent took the call instead of the number's own (rules/decide.ts). */
  | { kind: "connected"; retellCallId: string; sipUri: string; reason?: ClosedReason }
  | { kind: AgentLookupFailure }
  | { kind: "fallback_dialed"; reason: RegisterFailure; fallbackNumber: string }
  | { kind: "retell_failed"; reason: RegisterFailure }
  | { kind: "internal_error" }
  /** `hook`: the operator's pre-call hook answered `reject` (hook/consult.ts). */
  | { kind: "blocked"; reason: BlockReason | "hook" }
  | { kind: "rate_limited"; reason: LimitReason }
  /** The schedule's after-hours number was dialed, or its sentence (or the closed message) spoken. */
  | { kind: "after_hours"; reason: ClosedReason; number: string }
  | { kind: "after_hours"; reason: ClosedReason; message: string };

/** The outcome of a rule that answers the call itself (every decision but `connect`). */
export function ruleOutcome(decision: Exclude<RuleDecision, { kind: "connect" }>): VoiceOutcome {
  switch (decision.kind) {
    case "reject":
      return { kind: "blocked", reason: decision.reason };
    case "rate_limited":
      return { kind: "rate_limited", reason: decision.reason };
    case "dial":
      return { kind: "after_hours", reason: decision.reason, number: decision.number };
    case "say":
      return { kind: "after_hours", reason: decision.reason, message: decision.message };
  }
}

/** Where Twilio reports how each kind of `<Dial>` ended (see calls/dial-complete.ts). */
export interface DialActions {
  /** For the SIP leg to Retell: a failure there sends the caller to the fallback number. */
  retell: string;
  /** For a number dialed instead (the fallback, or the after-hours number): a failure there ends in an apology. */
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
    case "blocked":
      return reject();
    case "rate_limited":
      return sayAndHangUp(RATE_LIMITED_MESSAGE);
    case "after_hours":
      // Dialed as a fallback is: its own action, and a failure there ends in an apology, never another dial.
      return "number" in outcome ? dialNumber(outcome.number, actions && { action: actions.fallback }) : sayAndHangUp(outcome.message);
  }
}

/** The outcome of a call registered as Retell call `callId`: Twilio dials it over SIP. */
export function connectedOutcome(callId: string, sipHost: string): Extract<VoiceOutcome, { kind: "connected" }> {
  return { kind: "connected", retellCallId: callId, sipUri: retellSipUri(callId, sipHost) };
}

/** Retell recommends SIP over TCP (docs.retellai.com/deploy/custom-telephony); Twilio's default is UDP (tw-sip). */
export function retellSipUri(callId: string, sipHost: string): string {
  return `sip:${callId}@${sipHost};transport=tcp`;
}
