/**
 * The outbound webhook's decision (POST /api/webhooks/twilio/outbound, the call's `Url`): Twilio fetches it when
 * the callee answers, with `AnsweredBy` when machine detection was asked for. The call's line object (the
 * calling number's) holds its context under the reservation id in the URL; only now is the call registered with
 * Retell, once per CallSid, and answered with the same SIP TwiML and dial-complete handling as inbound calls.
 */
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import type { Bindings } from "../env.ts";
import { retellClient, retellSipHost, retellTimeoutMs } from "../config.ts";
import { voiceAnswer } from "../calls/answer.ts";
import { connectRegistration, failedOutcome } from "../calls/connect.ts";
import { dialActions } from "../calls/dial-complete.ts";
import { guardFallback } from "../calls/fallback-guard.ts";
import { aiLeg, APOLOGY_MESSAGE, outcomeTwiml } from "../calls/outcome.ts";
import { askLine, lineName, lineStub } from "../line/address.ts";
import type { OutboundAnswer } from "../line/object.ts";
import { log } from "../log.ts";
import type { InboundCall } from "../twilio/params.ts";
import { hangUp, sayAndHangUp } from "../twilio/twiml.ts";
import { keptContext, type OutboundContext } from "./context.ts";

export interface OutboundWebhookAnswer {
  /** The TwiML verbs inside <Response>. */
  twiml: string;
  /** For the webhook's log line. */
  log: Record<string, unknown>;
}

/**
 * The registration for an outbound call: our number calls the callee. The agent's variables and metadata, then
 * the request's (which win), then the identifiers Retell's events are joined back by (which win over both).
 */
export function outboundRegistrationParams(context: OutboundContext, callSid: string, accountSid: string | undefined, line: string): CallRegisterPhoneCallParams {
  const { agent } = context;
  return {
    agent_id: agent.retellAgentId,
    ...(agent.retellAgentVersion !== undefined && { agent_version: agent.retellAgentVersion }),
    from_number: context.from,
    to_number: context.to,
    direction: "outbound",
    retell_llm_dynamic_variables: { ...agent.dynamicVariables, ...context.dynamicVariables },
    metadata: {
      ...agent.metadata,
      ...context.metadata,
      twilio_call_sid: callSid,
      twilio_line: line,
      ...(accountSid && { twilio_account_sid: accountSid }),
    },
  };
}

export async function answerOutbound(
  env: Bindings,
  call: InboundCall,
  reservationId: string | undefined,
  answeredBy: string | undefined,
  twilioUrl: string,
  receivedAt: number,
): Promise<OutboundWebhookAnswer> {
  // Nobody but Twilio can send this (signed), but a reservation the line no longer knows is not ours to connect.
  if (!reservationId) return { twiml: hangUp(), log: { result: "no_reservation" } };
  const line = lineName(call.from);
  const budget = retellTimeoutMs(env);
  const stub = lineStub(env, line);
  const details = { from: call.from, to: call.to, receivedAt, ...(call.accountSid && { accountSid: call.accountSid }) };
  let answer: OutboundAnswer;
  try {
    answer = await askLine<OutboundAnswer>(stub.answerOutbound(reservationId, call.callSid, details, answeredBy, budget), "line outbound answer", budget);
  } catch (error) {
    // Without the line there is no context to connect with: the callee hears an apology rather than silence.
    return { twiml: sayAndHangUp(APOLOGY_MESSAGE), log: { result: "line_unavailable", detail: error instanceof Error ? error.message : String(error) } };
  }
  if (answer.kind === "unknown") return { twiml: hangUp(), log: { result: "unknown_reservation" } };
  if (answer.kind === "machine") {
    const twiml = answer.plan.kind === "message" ? sayAndHangUp(answer.plan.message) : hangUp();
    return { twiml, log: { result: answer.plan.kind === "message" ? "voicemail_left" : "machine_hangup" } };
  }

  const { claim } = answer;
  const context = keptContext(answer.context);
  const actions = dialActions(twilioUrl, context.agentKey);
  const leg = aiLeg(context.agent);
  if (claim.kind === "answered") return { twiml: outcomeTwiml(claim.outcome, actions, leg), log: { result: claim.outcome.kind, replay: true } };
  if (claim.kind === "still_registering") {
    const outcome = await guardFallback(env.AGENTS, context.agent, failedOutcome(context.agent, "retell_timeout"), { callSid: call.callSid });
    return { twiml: outcomeTwiml(outcome, actions), log: { result: "still_registering", replay: true } };
  }
  const params = outboundRegistrationParams(context, call.callSid, call.accountSid, line);
  const connected = await connectRegistration(retellClient(env, budget), retellSipHost(env), context.agent, params);
  const { registration } = connected;
  // A fallback that is one of the bridge's own numbers would call the bridge back: skipped (calls/fallback-guard.ts).
  const outcome = await guardFallback(env.AGENTS, context.agent, connected.outcome, { callSid: call.callSid });
  const answered = voiceAnswer(call, { agentKey: context.agentKey, retellAgentId: context.agent.retellAgentId, announces: leg.announce !== undefined }, outcome, receivedAt, registration);
  try {
    await askLine(stub.completeVoice(call.callSid, claim.token, answered, outcome), "line answer");
  } catch (error) {
    // The callee is on the line: answered without the record, as inbound calls are (calls/answer.ts).
    log("error", "line.unavailable", { callSid: call.callSid, step: "outbound_answer", detail: error instanceof Error ? error.message : String(error) });
  }
  return {
    twiml: outcomeTwiml(outcome, actions, leg),
    log: {
      result: outcome.kind,
      retellAgentId: context.agent.retellAgentId,
      retellMs: registration.ms,
      retellAttempts: registration.attempts,
      ...(outcome.kind === "connected" && { retellCallId: outcome.retellCallId }),
      ...(!registration.ok && { reason: registration.reason, detail: registration.detail }),
    },
  };
}
