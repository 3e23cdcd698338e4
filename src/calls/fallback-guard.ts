/**
 * The loop guard on the fallback number (agents/own-numbers.ts), at the moment a fallback would be dialed: Retell
 * failed, a hold ran out, the AI leg's dial failed, or the way back from a transfer failed. None of these is the
 * normal connect path, which reads nothing more. A fallback that is one of the bridge's own numbers, or that KV
 * cannot vouch for, is skipped: the call goes on as if none were configured (the agent's voicemail, else the apology).
 */
import type { AgentConfig } from "../agents/schema.ts";
import { isOwnNumber } from "../agents/own-numbers.ts";
import { log } from "../log.ts";
import { maskPhone } from "../phone.ts";
import { failedOutcome } from "./connect.ts";
import type { VoiceOutcome } from "../line/voice-outcome.ts";

/** `number`, or undefined when dialing it would loop through the bridge (or KV could not tell). Logged with the number masked. */
export async function allowedFallback(kv: KVNamespace, number: string | undefined, fields: Record<string, unknown>): Promise<string | undefined> {
  if (number === undefined) return undefined;
  try {
    if (!(await isOwnNumber(kv, number))) return number;
    log("warn", "loop_guard.fallback_skipped", { ...fields, field: "fallbackNumber", fallback: maskPhone(number), reason: "own_number" });
  } catch (error) {
    log("error", "loop_guard.fallback_skipped", { ...fields, field: "fallbackNumber", fallback: maskPhone(number), reason: "lookup_failed", detail: error instanceof Error ? error.message : String(error) });
  }
  return undefined;
}

/** `outcome`, unless it dials a fallback that would loop: then what the agent gives without one. */
export async function guardFallback(kv: KVNamespace, agent: AgentConfig, outcome: VoiceOutcome, fields: Record<string, unknown>): Promise<VoiceOutcome> {
  if (outcome.kind !== "fallback_dialed") return outcome;
  if ((await allowedFallback(kv, outcome.fallbackNumber, fields)) !== undefined) return outcome;
  const { fallbackNumber: _skipped, ...rest } = agent;
  return failedOutcome(rest, outcome.reason);
}
