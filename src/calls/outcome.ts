/**
 * What a voice webhook ended in, and the one place that maps each outcome to what the caller hears.
 */
import type { AgentConfig, AgentLookupFailure } from "../agents/schema.ts";
import type { RegisterFailure } from "../retell/register.ts";
import type { BlockReason, ClosedReason, LimitReason, RuleDecision } from "../rules/decide.ts";
import { dialNumber, dialSip, hangUp, reject, sayAndHangUp } from "../twilio/twiml.ts";
import { enqueueTwiml, type HoldUrls } from "../hold/twiml.ts";
import type { Voicemail } from "../voicemail/settings.ts";
import { voicemailTwiml, type VoicemailUrls } from "../voicemail/twiml.ts";
import { announceTwiml, type Announce } from "./announce.ts";

export const NOT_IN_SERVICE_MESSAGE = "Sorry, the number you have called is not in service. Goodbye.";
export const APOLOGY_MESSAGE = "Sorry, we cannot take your call right now. Please try again later. Goodbye.";
export const RATE_LIMITED_MESSAGE = "Sorry, this line is too busy to take your call. Please try again in a few minutes. Goodbye.";

/** Why a call is held: its line at the agent's maxConcurrentCalls, or Retell refusing the registration for capacity. */
export type QueuedReason = "line_full" | "retell_at_capacity";
/** Why a call went to the fallback (or the apology): Retell's failure, or the hold running out (maxHoldSeconds). */
export type NotConnectedReason = RegisterFailure | "hold_timeout";

export type VoiceOutcome =
  /** `reason`: the after-hours agent took the call instead of the number's own (rules/decide.ts). */
  | { kind: "connected"; retellCallId: string; sipUri: string; reason?: ClosedReason }
  | { kind: AgentLookupFailure }
  | { kind: "fallback_dialed"; reason: NotConnectedReason; fallbackNumber: string }
  | { kind: "retell_failed"; reason: NotConnectedReason }
  /** Held in the line's Twilio queue (hold/): the line is at the agent's maxConcurrentCalls, or Retell is full. */
  | { kind: "queued"; reason: QueuedReason }
  | { kind: "internal_error" }
  /** `hook`: the operator's pre-call hook answered `reject` (hook/consult.ts). */
  | { kind: "blocked"; reason: BlockReason | "hook" }
  | { kind: "rate_limited"; reason: LimitReason }
  /** The schedule's after-hours number was dialed, or its sentence (or the closed message) spoken. */
  | { kind: "after_hours"; reason: ClosedReason; number: string }
  | { kind: "after_hours"; reason: ClosedReason; message: string }
  /** A voicemail box took the call: the schedule's after hours, or the agent's own when nothing else could. */
  | { kind: "voicemail"; reason: ClosedReason | NotConnectedReason; voicemail: Voicemail }
  /** Twilio reported the call over before the bridge answered it (line/missed.ts): a later webhook for it only hangs up. */
  | { kind: "missed" };

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

/** Retell recommends SIP over TCP (docs.retellai.com/deploy/custom-telephony); Twilio's default is UDP (tw-sip). */
export function retellSipUri(callId: string, sipHost: string): string {
  return `sip:${callId}@${sipHost};transport=tcp`;
}
