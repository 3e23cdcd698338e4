/**
 * The transfer's `<Dial action>` (POST /api/webhooks/twilio/transfer-complete?attempt=<n>): the person answered
 * and the call is over, so it ends; or nobody answered (busy, no-answer, failed, canceled), and the caller goes
 * back to the AI: a new Retell call for the same agent, registered as the call's first one was and told which
 * destination failed through the dynamic variable `transfer_failed` (transfers/way-back.ts), and SIP TwiML as for
 * a new call. If that registration fails, the agent's fallback
 * number or the apology, as when Retell cannot take a new call.
 *
 * The way back is a new AI leg, so it takes a place under the agent's maxConcurrentCalls (line/capacity.ts
 * takeReturnPlace): the transfer gave the call's place back when the AI leg's dial ended, and a held caller may
 * have taken it since. When the line is full the caller is not held: they asked for a person and waited through
 * the ringing already, so they go to the fallback number at once (a person, which is what they asked for), else
 * the apology, as when Retell cannot take them (docs/busy-lines.md).
 */
import type { Bindings } from "../env.ts";
import type { AgentConfig } from "../agents/schema.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { retellClient, retellSipHost, retellTimeoutMs } from "../config.ts";
import { connectRegistration } from "../calls/connect.ts";
import { dialActions } from "../calls/dial-complete.ts";
import { allowedFallback, guardFallback } from "../calls/fallback-guard.ts";
import { APOLOGY_MESSAGE, connectedOutcome, outcomeTwiml } from "../calls/outcome.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { TransferEnd } from "../line/transfers.ts";
import { param, type TwilioParams } from "../twilio/params.ts";
import { dialNumber, hangUp, sayAndHangUp, twimlDocument } from "../twilio/twiml.ts";
import { wayBackRegistration } from "./way-back.ts";

export interface TransferDialReport {
  callSid: string;
  index: number;
  status: string | null;
  durationS: number | null;
  accountSid?: string;
  from?: string;
  to?: string;
}

export function readTransferDial(params: TwilioParams, attempt: string | undefined): TransferDialReport | null {
  const callSid = param(params, "CallSid");
  const index = Number(attempt);
  if (!callSid || !/^\d{1,2}$/.test(attempt ?? "") || !Number.isSafeInteger(index)) return null;
  const duration = Number(param(params, "DialCallDuration"));
  const report: TransferDialReport = {
    callSid,
    index,
    status: param(params, "DialCallStatus") ?? null,
    durationS: Number.isInteger(duration) && duration >= 0 ? duration : null,
  };
  for (const [field, name] of [["accountSid", "AccountSid"], ["from", "From"], ["to", "To"]] as const) {
    const value = param(params, name);
    if (value !== undefined) report[field] = value;
  }
  return report;
}

export interface TransferNext {
  /** The whole TwiML document. */
  twiml: string;
  log: Record<string, unknown>;
}

/**
 * The agent's fallback number when it has one (and it is not one of the bridge's own: calls/fallback-guard.ts), else
 * the apology: what a caller gets when Retell cannot take them.
 */
async function noAgent(env: Bindings, agent: AgentConfig | null, signedUrl: string, agentKey: string | null, callSid: string): Promise<string> {
  const fallback = await allowedFallback(env.AGENTS, agent?.fallbackNumber, { callSid });
  if (fallback === undefined) return twimlDocument(sayAndHangUp(APOLOGY_MESSAGE));
  const actions = agentKey === null ? undefined : dialActions(signedUrl, agentKey);
  return twimlDocument(dialNumber(fallback, actions && { action: actions.fallback }));
}

export async function afterTransferDial(env: Bindings, line: string, report: TransferDialReport, signedUrl: string): Promise<TransferNext> {
  const stub = lineStub(env, line);
  const budget = retellTimeoutMs(env);
  const end = await askLine<TransferEnd>(stub.finishTransfer(report.callSid, report.index, { status: report.status, durationS: report.durationS }, budget), "line transfer end", budget);
  const log = { next: end.kind };
  if (end.kind === "answered") return { twiml: twimlDocument(hangUp()), log };
  if (end.kind === "unknown") {
    // No attempt on record: a person who answered has finished, anyone else gets the apology, never a new dial.
    return { twiml: twimlDocument(report.status === "completed" ? hangUp() : sayAndHangUp(APOLOGY_MESSAGE)), log };
  }
  if (end.kind === "returned") {
    const record = await askLine(stub.call(report.callSid), "line call").catch(() => null);
    const actions = record?.agentKey ? dialActions(signedUrl, record.agentKey) : undefined;
    return { twiml: twimlDocument(outcomeTwiml(connectedOutcome(end.retellCallId, retellSipHost(env)), actions)), log };
  }
  if (end.kind === "return_failed") {
    const record = await askLine(stub.call(report.callSid), "line call").catch(() => null);
    const lookup = await lookupAgent(env.AGENTS, record?.agentKey ?? null);
    return { twiml: await noAgent(env, lookup.ok ? lookup.agent : null, signedUrl, record?.agentKey ?? null, report.callSid), log };
  }

  const { record, attempt } = end;
  const way = await wayBackRegistration(env, line, report, record, attempt);
  if (!way.ok) {
    await askLine(stub.backToAgent(report.callSid, report.index, { error: way.reason }), "line back to agent");
    return { twiml: await noAgent(env, null, signedUrl, record.agentKey, report.callSid), log: { ...log, reason: way.reason, detail: way.detail } };
  }
  if (way.agent.maxConcurrentCalls !== undefined) {
    // A line that cannot be asked lets the caller back, as a fresh call goes on without the limit (hold/connect.ts).
    const place = await askLine<boolean>(stub.takeReturnPlace(report.callSid, way.agent.maxConcurrentCalls), "line return place").catch(() => true);
    if (!place) {
      await askLine(stub.backToAgent(report.callSid, report.index, { error: "line_full" }), "line back to agent");
      return { twiml: await noAgent(env, way.agent, signedUrl, record.agentKey, report.callSid), log: { ...log, reason: "line_full" } };
    }
  }
  const result = await connectRegistration(retellClient(env, budget), retellSipHost(env), way.agent, way.params);
  const registered = result.registration.ok ? { retellCallId: result.registration.callId } : { error: result.registration.reason };
  await askLine(stub.backToAgent(report.callSid, report.index, registered), "line back to agent");
  const actions = record.agentKey === null ? undefined : dialActions(signedUrl, record.agentKey);
  const outcome = await guardFallback(env.AGENTS, way.agent, result.outcome, { callSid: report.callSid });
  return {
    twiml: twimlDocument(outcomeTwiml(outcome, actions)),
    log: { ...log, retellMs: result.registration.ms, ...("retellCallId" in registered ? { retellCallId: registered.retellCallId } : { reason: registered.error }) },
  };
}
