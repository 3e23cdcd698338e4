/**
 * The routing rules, decided at the edge before anything is registered with Retell: blocked callers, the two
 * rate limits, allowed callers and opening hours. One pure function of the call and its agent's configuration.
 *
 * Order: a blocked caller is rejected before anything else (no minutes, and no rate-limit count: see
 * rules/route-call.ts); then the caller's and the number's rate limits; then allowed callers and the schedule,
 * which send the call to the after-hours target (or the closed message) when the line is closed or the caller is
 * not on the allowed list.
 */
import type { AgentConfig } from "../agents/schema.ts";
import { normalizeE164 } from "../phone.ts";
import { callerNumber, matchesCaller } from "./callers.ts";
import { isOpen } from "./schedule.ts";
import { rejectsUnverified, type CallerVerification } from "./verification.ts";
import type { BlockReason, ClosedReason, LimitReason, Voicemail } from "../line/voice-outcome.ts";

/**
 * Closed, or a caller not on the allowed list, when the schedule names no after-hours target. The rules own it
 * (they decide what is said); the call flow only speaks it, so this layer imports nothing from calls/.
 */
export const CLOSED_MESSAGE = "Sorry, we are closed right now. Please call again during our opening hours. Goodbye.";

/** What the rate-limit bindings said: `true` means the call is within that limit. */
export interface LimitResults {
  caller: boolean;
  number: boolean;
}

export interface RuleInput {
  agent: AgentConfig;
  /** The global blocklist (`rules:blocked`), normalised. */
  blocklist: readonly string[];
  /** Twilio's `From` and `To`. */
  from: string;
  to: string;
  /** The caller's SHAKEN/STIR result (rules/verification.ts); `none` when Twilio sent none. */
  verification: CallerVerification;
  /** ms since the epoch. */
  now: number;
  limits: LimitResults;
  /** blockReason's verdict, when the caller has been checked already (rules/route-call.ts does, before counting). */
  blocked?: BlockReason | null;
}

/** Dynamic variables the rules add for Retell: `after_hours` when the agent has a schedule. */
export type RuleVariables = Record<string, string>;

export type RuleDecision =
  /** To this agent, or with `agentId` to the agent stored under `agent:<agentId>` instead (after hours). */
  | { kind: "connect"; agentId?: string; reason?: ClosedReason; variables: RuleVariables }
  | { kind: "dial"; number: string; reason: ClosedReason }
  /** `detail` says why a configured target was not used (for the log). */
  | { kind: "say"; message: string; reason: ClosedReason; detail?: string }
  /** The schedule's voicemail box takes a message. */
  | { kind: "voicemail"; voicemail: Voicemail; reason: ClosedReason }
  | { kind: "reject"; reason: BlockReason }
  | { kind: "rate_limited"; reason: LimitReason };

/** Whether, and by which list (or their verification), the caller is blocked. */
export function blockReason(agent: AgentConfig, blocklist: readonly string[], from: string, verification: CallerVerification): BlockReason | null {
  const caller = callerNumber(from);
  if (matchesCaller(blocklist, caller)) return "global_blocklist";
  if (agent.blockedCallers && matchesCaller(agent.blockedCallers, caller)) return "agent_blocklist";
  if (rejectsUnverified(agent.blockUnverified, verification)) return "unverified";
  return null;
}

export function decide(input: RuleInput): RuleDecision {
  const { agent, from, to, now, limits } = input;
  const blocked = input.blocked !== undefined ? input.blocked : blockReason(agent, input.blocklist, from, input.verification);
  if (blocked) return { kind: "reject", reason: blocked };
  if (!limits.caller) return { kind: "rate_limited", reason: "caller_rate_limit" };
  if (!limits.number) return { kind: "rate_limited", reason: "number_rate_limit" };

  const { schedule } = agent;
  const open = schedule ? isOpen(schedule, now) : true;
  // Retell learns whether the line is closed whenever there is a schedule, whoever takes the call.
  const variables: RuleVariables = schedule ? { after_hours: String(!open) } : {};
  const allowed = !agent.allowedCallers || matchesCaller(agent.allowedCallers, callerNumber(from));
  if (open && allowed) return { kind: "connect", variables };

  const reason: ClosedReason = open ? "caller_not_allowed" : "after_hours";
  const target = schedule?.afterHours;
  if (!target) return { kind: "say", message: CLOSED_MESSAGE, reason };
  if ("agent" in target) return { kind: "connect", agentId: target.agent, reason, variables };
  if ("say" in target) return { kind: "say", message: target.say, reason };
  if ("voicemail" in target) return { kind: "voicemail", voicemail: target.voicemail, reason };
  // Dialing the number that was called would loop back into this Worker, call after call, at the operator's cost.
  if (target.number === (normalizeE164(to) ?? to)) {
    return { kind: "say", message: CLOSED_MESSAGE, reason, detail: "afterHours number is the dialed number: not dialed" };
  }
  return { kind: "dial", number: target.number, reason };
}
