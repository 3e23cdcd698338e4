/**
 * Deciding a voice webhook's answer: the agent (and the global blocklist) from KV and the call's claim on its
 * line's object side by side, then the routing rules (rules/), then, for the one webhook holding the claim, the
 * Retell registration, stored in the line by `store` (routes/voice.ts calls it once the document is out). Touches
 * no D1: the line's object copies the call to D1 later (line/object.ts).
 */
import type { Bindings } from "../env.ts";
import { retellTimeoutMs } from "../config.ts";
import { connectOrHold } from "../hold/connect.ts";
import type { HoldExit } from "../line/capacity.ts";
import { askLine, lineName, lineStub } from "../line/address.ts";
import type { PhoneLine } from "../line/object.ts";
import type { VoiceClaim } from "../line/claims.ts";
import type { VoiceAnswer } from "../line/transitions.ts";
import { log } from "../log.ts";
import { applyRules, readRouting, type Routing } from "../rules/route-call.ts";
import type { InboundCall } from "../twilio/params.ts";
import { askHook } from "../hook/consult.ts";
import type { StoredHook } from "../line/stored-hook.ts";
import { copyWaitMs, retellBudgetMs, timeLeftMs } from "./budget.ts";
import { failedOutcome } from "./connect.ts";
import { guardFallback } from "./fallback-guard.ts";
import type { VoiceOutcome } from "../line/voice-outcome.ts";
import { aiLeg, type AiLeg } from "./outcome.ts";

export interface CallAnswer {
  outcome: VoiceOutcome;
  /** The Retell agent that serves (or would serve) the call. */
  retellAgentId?: string;
  /** The KV key whose agent takes the call (an after-hours agent's, or the number's), for the `<Dial action>`s. */
  actionKey: string | null;
  /** For the webhook's log line. */
  log: Record<string, unknown>;
  /** How the AI leg is dialed (the agent's consent notice and time limit), when the call goes to an agent. */
  leg?: AiLeg;
  /**
   * Stores the answer on the call's line (the webhook holding the claim only), waking the copies waiting for it;
   * the caller decides when (routes/voice.ts: once the document is out). Never throws: a line that cannot be
   * reached is logged, and its claim expires after CLAIM_TTL_MS.
   */
  store?: () => Promise<void>;
}

type Claim = VoiceClaim | { kind: "unclaimed"; detail?: string };

async function claimCall(stub: DurableObjectStub<PhoneLine>, call: InboundCall, receivedAt: number, waitMs: number): Promise<Claim> {
  if (call.dryRun) return { kind: "unclaimed" };
  try {
    const details = { from: call.from, to: call.to, receivedAt, ...(call.accountSid && { accountSid: call.accountSid }) };
    return await askLine<VoiceClaim>(stub.claimVoice(call.callSid, details, waitMs), "line claim", waitMs);
  } catch (error) {
    // The caller matters more than the guarantee: answered without a claim (and without a record), logged.
    const detail = error instanceof Error ? error.message : String(error);
    log("error", "line.unavailable", { callSid: call.callSid, step: "claim", detail });
    return { kind: "unclaimed", detail };
  }
}

/** The answer for a call whose claim is held by another webhook that has not answered within this one's wait. */
function stillRegistering(env: Bindings, routing: Routing, callSid: string): Promise<VoiceOutcome> {
  if (routing.kind === "answer") return Promise.resolve(routing.outcome);
  return guardFallback(env.AGENTS, routing.agent, failedOutcome(routing.agent, "retell_timeout"), { callSid });
}

/** What the line stores as a voice webhook's answer (inbound or outbound): the call, its agent, and its outcome. */
export function voiceAnswer(
  call: InboundCall,
  agent: { agentKey: string | null; retellAgentId?: string | undefined; announces?: boolean },
  outcome: VoiceOutcome,
  receivedAt: number,
  registration?: { ms: number; attempts: number },
): VoiceAnswer {
  return {
    agentKey: agent.agentKey,
    from: call.from,
    to: call.to,
    outcome: outcome.kind,
    receivedAt,
    answeredAt: Date.now(),
    ...(call.accountSid && { accountSid: call.accountSid }),
    ...(agent.retellAgentId && { retellAgentId: agent.retellAgentId }),
    ...("reason" in outcome && outcome.reason !== undefined && { outcomeReason: outcome.reason }),
    ...(outcome.kind === "connected" && { retellCallId: outcome.retellCallId }),
    ...(registration && { registerMs: registration.ms, registerAttempts: registration.attempts }),
    ...(call.stirVerstat && { stirVerstat: call.stirVerstat }),
    ...(outcome.kind === "connected" && agent.announces && { announced: true }),
  };
}

/**
 * `held`: the call is back from the line's queue (the Enqueue action, hold/leave.ts): admitted, it registers like a
 * fresh call (and is never counted against the rate limits again); timed out, it goes where a failed
 * registration goes.
 */
export async function answerCall(env: Bindings, call: InboundCall, key: string | null, receivedAt: number, held?: HoldExit): Promise<CallAnswer> {
  const line = lineName(call.to);
  const stub = lineStub(env, line);
  const budget = retellTimeoutMs(env);
  // A copy waits for the holder's hook and registration both (issue 16): Retell's budget alone would give up early.
  const [read, claim] = await Promise.all([readRouting(env, key), claimCall(stub, call, receivedAt, copyWaitMs(budget, receivedAt))]);
  // Only the webhook answering the call counts it against the rate limits: a copy of a webhook is no new call.
  const counts = !call.dryRun && !held && (claim.kind === "claimed" || claim.kind === "unclaimed");
  const routing = await applyRules(env, read, call, receivedAt, counts);
  const actionKey = routing.kind === "connect" ? routing.key : key;
  const retellAgentId = routing.kind === "connect" ? routing.agent.retellAgentId : routing.lookup.ok ? routing.lookup.agent.retellAgentId : undefined;
  const leg = routing.kind === "connect" ? aiLeg(routing.agent) : undefined;
  const answered = (outcome: VoiceOutcome, log: Record<string, unknown>): CallAnswer => ({ outcome, actionKey, log, ...(retellAgentId && { retellAgentId }), ...(leg && { leg }) });

  if (claim.kind === "answered") return answered(claim.outcome, { replay: true });
  if (claim.kind === "still_registering") return answered(await stillRegistering(env, routing, call.callSid), { replay: true, detail: "another webhook is still registering this call" });

  let outcome: VoiceOutcome;
  let logFields: Record<string, unknown> = {};
  let registration: { ms: number; attempts: number } | undefined;
  let holdRecord: { queuedAt?: number; concurrentCalls?: number } = {};
  // The pre-call hook's answer (docs/pre-call-hook.md): `asked` when this webhook asked it, so the line keeps it.
  let hook: StoredHook | null = null;
  let asked = false;
  let finalAgentId: string | undefined;
  if (routing.kind === "answer") {
    outcome = routing.outcome;
    if (routing.detail !== undefined) logFields = { detail: routing.detail };
  } else if (held && held.kind !== "admitted") {
    outcome = failedOutcome(routing.agent, "hold_timeout");
    logFields = { heldMs: "heldMs" in held ? held.heldMs : undefined };
  } else {
    try {
      // Asked once per CallSid, by the webhook answering the call (copies returned above), never for a dry run.
      hook = claim.kind === "claimed" && claim.hook ? claim.hook : null;
      if (!hook && !call.dryRun) {
        hook = await askHook(env, call, routing.agent, timeLeftMs(receivedAt));
        asked = hook !== null;
      }
      if (hook?.result === "rejected") {
        outcome = { kind: "blocked", reason: "hook" };
        logFields = { hookResult: hook.result, hookMs: hook.ms };
      } else {
        // Retell gets what is left of the webhook's time once the hook has answered, at most RETELL_TIMEOUT_MS.
        const result = await connectOrHold(env, retellBudgetMs(budget, receivedAt), call, routing.agent, line, receivedAt, claim.kind === "claimed", hook?.answer);
        // A call the after-hours agent took is connected for that reason (stats count it as after hours).
        outcome = result.outcome.kind === "connected" && routing.reason ? { ...result.outcome, reason: routing.reason } : result.outcome;
        registration = result.registration;
        holdRecord = result.record;
        finalAgentId = result.agentId;
        logFields = {
          ...(hook && { hookResult: hook.result, hookMs: hook.ms }),
          ...(result.registration && {
            retellMs: result.registration.ms,
            retellAttempts: result.registration.attempts,
            ...(!result.registration.ok && { retellStatus: result.registration.status, detail: result.registration.detail }),
          }),
        };
      }
    } catch (error) {
      outcome = { kind: "internal_error" };
      logFields = { detail: error instanceof Error ? error.message : String(error) };
    }
  }
  // A fallback that is one of the bridge's own numbers would loop the call back in: skipped (calls/fallback-guard.ts).
  if (routing.kind === "connect") outcome = await guardFallback(env.AGENTS, routing.agent, outcome, { callSid: call.callSid });

  if (claim.kind !== "claimed") return answered(outcome, logFields);
  // The agent that took the call (an after-hours one's key, or the number's): transfers and the way back use it.
  const answer = {
    ...voiceAnswer(call, { agentKey: actionKey, retellAgentId, announces: leg?.announce !== undefined }, outcome, receivedAt, registration),
    ...holdRecord,
    ...(hook && { hook: { result: hook.result, ms: hook.ms } }),
    ...(finalAgentId !== undefined && { finalAgentId }),
  };
  const decided = outcome;
  const store = async () => {
    try {
      // No deadline of its own: it runs once the caller has the document, so a slow line holds up no one.
      await stub.completeVoice(call.callSid, claim.token, answer, decided, asked && hook ? hook : undefined);
    } catch (error) {
      log("error", "line.unavailable", { callSid: call.callSid, step: "answer", detail: error instanceof Error ? error.message : String(error) });
    }
  };
  return { ...answered(outcome, logFields), store };
}
