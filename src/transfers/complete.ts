/**
 * The transfer's `<Dial action>` (POST /api/webhooks/twilio/transfer-complete?attempt=<n>): the person answered
 * and the call is over, so it ends; or nobody answered (busy, no-answer, failed, canceled), and the caller goes
 * back to the AI: a new Retell call for the same agent, told which destination failed through the dynamic
 * variable `transfer_failed`, and SIP TwiML as for a new call. If that registration fails, the agent's fallback
 * number or the apology, as when Retell cannot take a new call.
 */
import type { Bindings } from "../env.ts";
import type { AgentConfig } from "../agents/schema.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { retellClient, retellSipHost, retellTimeoutMs } from "../config.ts";
import { connectCall } from "../calls/connect.ts";
import { dialActions } from "../calls/dial-complete.ts";
import { APOLOGY_MESSAGE, connectedOutcome, outcomeTwiml } from "../calls/outcome.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { TransferEnd } from "../line/transfers.ts";
import { param, type TwilioParams } from "../twilio/params.ts";
import { dialNumber, hangUp, sayAndHangUp, twimlDocument } from "../twilio/twiml.ts";

/** The dynamic variable that tells the agent's prompt the transfer failed, and to whom (docs/transfers.md). */
export const TRANSFER_FAILED_VARIABLE = "transfer_failed";

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

/** The agent's fallback number when it has one, else the apology: what a caller gets when Retell cannot take them. */
function noAgent(agent: AgentConfig | null, signedUrl: string, agentKey: string | null): string {
  if (!agent?.fallbackNumber) return twimlDocument(sayAndHangUp(APOLOGY_MESSAGE));
  const actions = agentKey === null ? undefined : dialActions(signedUrl, agentKey);
  return twimlDocument(dialNumber(agent.fallbackNumber, actions && { action: actions.fallback }));
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
    return { twiml: noAgent(lookup.ok ? lookup.agent : null, signedUrl, record?.agentKey ?? null), log };
  }

  const { record, attempt } = end;
  const lookup = await lookupAgent(env.AGENTS, record.agentKey);
  if (!lookup.ok) {
    await askLine(stub.backToAgent(report.callSid, report.index, { error: lookup.reason }), "line back to agent");
    return { twiml: noAgent(null, signedUrl, record.agentKey), log: { ...log, detail: lookup.detail } };
  }
  // The failed destination joins the agent's own variables, so the prompt can say "nobody is free, can I take a message?".
  const failed = { [TRANSFER_FAILED_VARIABLE]: attempt.destination };
  const agent: AgentConfig = { ...lookup.agent, dynamicVariables: { ...lookup.agent.dynamicVariables, ...failed } };
  // The pre-call hook is never asked twice for a call: its first answer (stored on the line) applies again, under transfer_failed.
  const stored = await askLine(stub.hookAnswer(report.callSid), "line hook answer").catch(() => null);
  const hook = stored && { ...stored.answer, dynamic_variables: { ...stored.answer.dynamic_variables, ...failed } };
  const call = {
    callSid: report.callSid,
    from: record.from ?? report.from ?? "",
    to: record.to ?? report.to ?? "",
    dryRun: false,
    ...((record.accountSid ?? report.accountSid) && { accountSid: record.accountSid ?? report.accountSid }),
  };
  const result = await connectCall(retellClient(env, budget), retellSipHost(env), call, agent, line, hook ?? undefined);
  const registered = result.registration.ok ? { retellCallId: result.registration.callId } : { error: result.registration.reason };
  await askLine(stub.backToAgent(report.callSid, report.index, registered), "line back to agent");
  const actions = record.agentKey === null ? undefined : dialActions(signedUrl, record.agentKey);
  return {
    twiml: twimlDocument(outcomeTwiml(result.outcome, actions)),
    log: { ...log, retellMs: result.registration.ms, ...("retellCallId" in registered ? { retellCallId: registered.retellCallId } : { reason: registered.error }) },
  };
}
