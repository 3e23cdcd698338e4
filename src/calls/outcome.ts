/**
 * The one place that maps each voice outcome (line/voice-outcome.ts) to what the caller hears.
 */
import type { AgentConfig } from "../agents/schema.ts";
import type { VoiceOutcome } from "../line/voice-outcome.ts";
import { retellSipUri } from "../retell/register.ts";
import type { RuleDecision } from "../rules/decide.ts";
import { dialNumber, dialSip, hangUp, reject, sayAndHangUp } from "../twilio/twiml.ts";
import { enqueueTwiml, type HoldUrls } from "../hold/twiml.ts";
import { voicemailTwiml, type VoicemailUrls } from "../voicemail/twiml.ts";
import { announceTwiml, type Announce } from "./announce.ts";

export const NOT_IN_SERVICE_MESSAGE = "Sorry, the number you have called is not in service. Goodbye.";
export const APOLOGY_MESSAGE = "Sorry, we cannot take your call right now. Please try again later. Goodbye.";
export const RATE_LIMITED_MESSAGE = "Sorry, this line is too busy to take your call. Please try again in a few minutes. Goodbye.";

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
    case "voicemail":
      return { kind: "voicemail", reason: decision.reason, voicemail: decision.voicemail };
  }
}

/** Where Twilio reports how each kind of `<Dial>` ended (see calls/dial-complete.ts). */
export interface DialActions {
  /** For the SIP leg to Retell: a failure there sends the caller to the fallback number. */
  retell: string;
  /** For a number dialed instead (the fallback, or the after-hours number): a failure there ends in an apology. */
  fallback: string;
  /** The line's queue and its URLs, for a call that is held. */
  hold?: HoldUrls;
  /** Where a voicemail's recording is reported, for a call that leaves one. */
  voicemail?: VoicemailUrls;
}

/** How the agent taking a call wants its AI leg dialed: its consent notice first, and the leg's time limit. */
export interface AiLeg {
  announce?: Announce;
  timeLimit?: number;
}

export function aiLeg(agent: AgentConfig): AiLeg {
  return { ...(agent.announce && { announce: agent.announce }), ...(agent.maxCallSeconds !== undefined && { timeLimit: agent.maxCallSeconds }) };
}

/** The TwiML verbs (inside <Response>) for an outcome; without `actions`, a dial's end ends the call. */
export function outcomeTwiml(outcome: VoiceOutcome, actions?: DialActions, leg: AiLeg = {}): string {
  switch (outcome.kind) {
    case "connected":
      return (leg.announce ? announceTwiml(leg.announce) : "") + dialSip(outcome.sipUri, { action: actions?.retell, timeLimit: leg.timeLimit });
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
    case "voicemail":
      // Only Twilio routes that know the call's line can give the recording's URLs; without them, the apology.
      return actions?.voicemail ? voicemailTwiml(outcome.voicemail, actions.voicemail) : sayAndHangUp(APOLOGY_MESSAGE);
    case "queued":
      // Only the voice webhook knows the queue's URLs; a caller it cannot hold hears the apology.
      return actions?.hold ? enqueueTwiml(actions.hold) : sayAndHangUp(APOLOGY_MESSAGE);
    case "missed":
      return hangUp();
    case "after_hours":
      // Dialed as a fallback is: its own action, and a failure there ends in an apology, never another dial.
      return "number" in outcome ? dialNumber(outcome.number, actions && { action: actions.fallback }) : sayAndHangUp(outcome.message);
  }
}

/** The outcome of a call registered as Retell call `callId`: Twilio dials it over SIP. */
export function connectedOutcome(callId: string, sipHost: string): Extract<VoiceOutcome, { kind: "connected" }> {
  return { kind: "connected", retellCallId: callId, sipUri: retellSipUri(callId, sipHost) };
}
