/**
 * Deciding a voice webhook's answer: the agent from KV and the call's claim on its line's object side by side,
 * then (for the one webhook holding the claim) the Retell registration, stored in the line before it is answered.
 * Touches no D1: the line's object copies the call to D1 later (line/object.ts).
 */
import type { Bindings } from "../env.ts";
import { lookupAgent, type AgentLookup } from "../agents/lookup.ts";
import { retellBaseUrl, retellSipHost, retellTimeoutMs } from "../config.ts";
import { askLine, lineName, lineStub } from "../line/address.ts";
import type { VoiceClaim } from "../line/object.ts";
import type { VoiceAnswer } from "../line/transitions.ts";
import { log } from "../log.ts";
import type { InboundCall } from "../twilio/params.ts";
import { connectCall, failedOutcome } from "./connect.ts";
import type { VoiceOutcome } from "./outcome.ts";

export interface CallAnswer {
  outcome: VoiceOutcome;
  agent?: { key: string; retellAgentId: string };
  /** For the webhook's log line. */
  log: Record<string, unknown>;
}

type Claim = VoiceClaim | { kind: "unclaimed"; detail?: string };

async function claimCall(env: Bindings, call: InboundCall, line: string, receivedAt: number, waitMs: number): Promise<Claim> {
  if (call.dryRun) return { kind: "unclaimed" };
  try {
    const stub = lineStub(env, line);
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
function stillRegistering(lookup: AgentLookup): VoiceOutcome {
  return lookup.ok ? failedOutcome(lookup.agent, "retell_timeout") : { kind: lookup.reason };
}

export async function answerCall(env: Bindings, call: InboundCall, key: string | null, receivedAt: number): Promise<CallAnswer> {
  const line = lineName(call.to);
  const budget = retellTimeoutMs(env);
  const [lookup, claim] = await Promise.all([lookupAgent(env.AGENTS, key), claimCall(env, call, line, receivedAt, budget)]);
  const agent = lookup.ok ? { key: lookup.key, retellAgentId: lookup.agent.retellAgentId } : undefined;

  if (claim.kind === "answered") return { outcome: claim.outcome, agent, log: { replay: true } };
  if (claim.kind === "still_registering") return { outcome: stillRegistering(lookup), agent, log: { replay: true, detail: "another webhook is still registering this call" } };

  let outcome: VoiceOutcome;
  let logFields: Record<string, unknown> = {};
  let registration: { ms: number; attempts: number } | undefined;
  if (!lookup.ok) {
    outcome = { kind: lookup.reason };
    logFields = { detail: lookup.detail };
  } else {
    const retell = { baseUrl: retellBaseUrl(env), apiKey: env.RETELL_API_KEY, timeoutMs: budget };
    if (!retell.apiKey) log("error", "config.missing_secret", { secret: "RETELL_API_KEY", fix: "wrangler secret put RETELL_API_KEY" });
    try {
      const result = await connectCall(retell, retellSipHost(env), call, lookup.agent, line);
      outcome = result.outcome;
      registration = result.registration;
      logFields = {
        retellMs: result.registration.ms,
        retellAttempts: result.registration.attempts,
        ...(!result.registration.ok && { retellStatus: result.registration.status, detail: result.registration.detail }),
      };
    } catch (error) {
      outcome = { kind: "internal_error" };
      logFields = { detail: error instanceof Error ? error.message : String(error) };
    }
  }

  if (claim.kind === "claimed") {
    const answer: VoiceAnswer = {
      agentKey: key,
      from: call.from,
      to: call.to,
      outcome: outcome.kind,
      receivedAt,
      answeredAt: Date.now(),
      ...(call.accountSid && { accountSid: call.accountSid }),
      ...(agent && { retellAgentId: agent.retellAgentId }),
      ...("reason" in outcome && { outcomeReason: outcome.reason }),
      ...(outcome.kind === "connected" && { retellCallId: outcome.retellCallId }),
      ...(registration && { registerMs: registration.ms, registerAttempts: registration.attempts }),
    };
    try {
      await askLine(lineStub(env, line).completeVoice(call.callSid, claim.token, answer, outcome), "line answer");
    } catch (error) {
      log("error", "line.unavailable", { callSid: call.callSid, step: "answer", detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return { outcome, agent, log: logFields };
}
