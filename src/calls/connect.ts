/**
 * The core of a call: register it with Retell for its agent and decide how Twilio should connect it.
 */
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import type { AgentConfig } from "../agents/schema.ts";
import type { HookAnswer } from "../line/stored-hook.ts";
import { applyHookAnswer } from "../hook/merge.ts";
import { normalizeE164 } from "../phone.ts";
import { callerVerification } from "../rules/verification.ts";
import { DRY_RUN_CALL_ID, type InboundCall } from "../twilio/params.ts";
import { registerPhoneCall, type RegisterFailure, type RetellClientConfig, type RegisterResult } from "../retell/register.ts";
import type { NotConnectedReason, VoiceOutcome } from "../line/voice-outcome.ts";
import { connectedOutcome } from "./outcome.ts";

export interface ConnectResult {
  outcome: VoiceOutcome;
  registration: RegisterResult;
  /** The Retell agent registered: the hook's override, else the configured one. */
  agentId: string;
}

/**
 * The registration request: the agent's settings plus what Twilio told us about the call. Retell documents
 * `from_number` and `to_number` as E.164, so a `From` that is not a number (a withheld caller id such as
 * `anonymous`, `client:…`, `sip:…`) is left out there; the dynamic variables carry Twilio's values as they came,
 * and `caller_verification`, the caller's SHAKEN/STIR result (rules/verification.ts), which no agent setting overrides.
 * The metadata names the call's line and CallSid, so Retell's events find their way back to the line's object
 * (routes/retell-webhook.ts). The pre-call hook's answer, when there is one, goes over the agent's settings
 * (hook/merge.ts).
 */
export function registrationParams(call: InboundCall, agent: AgentConfig, line: string, hook?: HookAnswer): CallRegisterPhoneCallParams {
  const own = workerVariables(call);
  const params = agentParams(call, agent, line, own);
  return hook ? applyHookAnswer(params, hook, own) : params;
}

/** The dynamic variables that carry what Twilio said about the call: the Worker's own, over the agent's and any hook's. */
export function workerVariables(call: InboundCall): Record<string, string> {
  return {
    caller_number: call.from,
    called_number: call.to,
    caller_verification: callerVerification(call.stirVerstat),
  };
}

function agentParams(call: InboundCall, agent: AgentConfig, line: string, own: Record<string, string>): CallRegisterPhoneCallParams {
  const from = normalizeE164(call.from);
  const to = normalizeE164(call.to);
  return {
    agent_id: agent.retellAgentId,
    ...(agent.retellAgentVersion !== undefined && { agent_version: agent.retellAgentVersion }),
    ...(from !== null && { from_number: from }),
    ...(to !== null && { to_number: to }),
    direction: "inbound",
    retell_llm_dynamic_variables: { ...agent.dynamicVariables, ...own },
    metadata: {
      ...agent.metadata,
      twilio_call_sid: call.callSid,
      twilio_line: line,
      ...(call.accountSid && { twilio_account_sid: call.accountSid }),
    },
  };
}

/** What the caller gets when Retell cannot take the call: the agent's fallback number, else its voicemail, else an apology. */
export function failedOutcome(agent: AgentConfig, reason: NotConnectedReason): VoiceOutcome {
  if (agent.fallbackNumber) return { kind: "fallback_dialed", reason, fallbackNumber: agent.fallbackNumber };
  if (agent.voicemail) return { kind: "voicemail", reason, voicemail: agent.voicemail };
  return { kind: "retell_failed", reason };
}

/** Registers `params` with Retell and decides how Twilio connects the call: SIP to Retell, else what `agent` falls back to. */
export async function connectRegistration(
  retell: RetellClientConfig,
  sipHost: string,
  agent: AgentConfig,
  params: CallRegisterPhoneCallParams,
  signal?: AbortSignal,
): Promise<ConnectResult> {
  const registration = await registerPhoneCall(retell, params, signal);
  return { registration, agentId: params.agent_id, outcome: registration.ok ? connectedOutcome(registration.callId, sipHost) : failedOutcome(agent, registration.reason) };
}

/**
 * An inbound call (or a dry run, which registers nothing and dials a call id Retell will never accept), with the
 * pre-call hook's answer when there is one.
 */
export async function connectCall(
  retell: RetellClientConfig,
  sipHost: string,
  call: InboundCall,
  agent: AgentConfig,
  line: string,
  hook?: HookAnswer,
): Promise<ConnectResult> {
  if (call.dryRun) {
    return { registration: { ok: true, callId: DRY_RUN_CALL_ID, attempts: 0, ms: 0 }, agentId: agent.retellAgentId, outcome: connectedOutcome(DRY_RUN_CALL_ID, sipHost) };
  }
  return connectRegistration(retell, sipHost, agent, registrationParams(call, agent, line, hook));
}
