/**
 * What a voice webhook ended in, as the line keeps it: each call's answer is stored (line/answers.ts) and handed to
 * the webhooks waiting for it (line/claims.ts), so the outcome and every reason in it are the line's vocabulary,
 * below the rooms that decide them (agents/, rules/, calls/). calls/outcome.ts maps each outcome to what the
 * caller hears.
 */
import type { RegisterFailure } from "../retell/register.ts";

/** Why no agent can serve a call: its value's own problems (agents/schema.ts), none stored, or KV failing. */
export type AgentLookupFailure = "agent_missing_retell_id" | "agent_config_invalid" | "agent_not_found" | "agent_lookup_failed";
/** Which list blocked the caller, or `unverified`: the agent's `blockUnverified` and the caller's SHAKEN/STIR result. */
export type BlockReason = "global_blocklist" | "agent_blocklist" | "unverified";
/** Which rate limit the call is over. */
export type LimitReason = "caller_rate_limit" | "number_rate_limit";
/** Why the call did not go to its own agent: the line is closed, or the caller is not on its allowed list. */
export type ClosedReason = "after_hours" | "caller_not_allowed";
/** Why a call is held: its line at the agent's maxConcurrentCalls, or Retell refusing the registration for capacity. */
export type QueuedReason = "line_full" | "retell_at_capacity";
/** Why a call went to the fallback (or the apology): Retell's failure, or the hold running out (maxHoldSeconds). */
export type NotConnectedReason = RegisterFailure | "hold_timeout";

/** A voicemail box (voicemail/settings.ts checks it): the greeting spoken with `<Say>`, then `<Record>` for at most `maxSeconds`. */
export interface Voicemail {
  greeting: string;
  /** `<Record maxLength>`, seconds. */
  maxSeconds: number;
}

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
