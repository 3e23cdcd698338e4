/**
 * Registering a call with Retell under the line's capacity: the claim holder first takes a place under the
 * agent's maxConcurrentCalls (line/capacity.ts, check-and-set in the line's object) or is held, and a call Retell
 * refuses for capacity is held too instead of going to the fallback at once (retell/register.ts says what Retell
 * documents). Only the webhook holding the call's claim may take a place or join the queue.
 */
import type { AgentConfig } from "../agents/schema.ts";
import type { Bindings } from "../env.ts";
import { retellClient, retellSipHost } from "../config.ts";
import { connectCall, type ConnectResult } from "../calls/connect.ts";
import type { HookAnswer } from "../line/stored-hook.ts";
import type { VoiceOutcome } from "../line/voice-outcome.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { Admission } from "../line/capacity.ts";
import { log } from "../log.ts";
import type { InboundCall } from "../twilio/params.ts";
import { maxHoldMs } from "./settings.ts";

export interface HeldResult {
  outcome: VoiceOutcome;
  /** Absent when the call was held before any registration. */
  registration?: ConnectResult["registration"];
  /** The Retell agent registered (the pre-call hook's override, else the agent's own), once registration was tried. */
  agentId?: string;
  /** For the record: when the call was held, or the line's connected calls once it took its place. */
  record: { queuedAt?: number; concurrentCalls?: number };
}

/** What the line said, or null when it could not be asked (logged: the call goes on as if there were no limit). */
async function askCapacity(callSid: string, step: string, ask: () => Promise<Admission>): Promise<Admission | null> {
  try {
    return await askLine(ask(), `line ${step}`);
  } catch (error) {
    log("error", "line.unavailable", { callSid, step, detail: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

export async function connectOrHold(
  env: Bindings,
  budgetMs: number,
  call: InboundCall,
  agent: AgentConfig,
  line: string,
  arrivedAt: number,
  claimed: boolean,
  hook?: HookAnswer,
): Promise<HeldResult> {
  const canHold = claimed && !call.dryRun;
  // Only the agents with maxConcurrentCalls, and Retell's refusals for capacity, need the line here.
  const stub = () => lineStub(env, line);
  const hold = { maxCalls: agent.maxConcurrentCalls ?? null, maxHoldMs: maxHoldMs(agent) };
  const record: HeldResult["record"] = {};
  if (canHold && agent.maxConcurrentCalls !== undefined) {
    const maxCalls = agent.maxConcurrentCalls;
    const admission = await askCapacity(call.callSid, "admission", () => stub().admitVoice(call.callSid, arrivedAt, { ...hold, maxCalls }));
    if (admission?.kind === "queued") return { outcome: { kind: "queued", reason: "line_full" }, record: { queuedAt: Date.now() } };
    if (admission?.kind === "admitted") record.concurrentCalls = admission.connected;
  }
  const result = await connectCall(retellClient(env, budgetMs), retellSipHost(env), call, agent, line, hook);
  if (canHold && !result.registration.ok && result.registration.reason === "retell_at_capacity") {
    const held = await askCapacity(call.callSid, "hold", () => stub().holdRefusedVoice(call.callSid, arrivedAt, hold));
    if (held?.kind === "queued") return { outcome: { kind: "queued", reason: "retell_at_capacity" }, registration: result.registration, agentId: result.agentId, record: { queuedAt: Date.now() } };
  }
  return { ...result, record };
}
