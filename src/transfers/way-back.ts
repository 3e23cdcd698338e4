/**
 * The caller's way back to the AI after a transfer nobody answered: the registration of the new Retell call. It
 * sends exactly what the call's first registration sent (direction, from and to numbers, dynamic variables,
 * metadata), plus the dynamic variable `transfer_failed` naming the destination that failed:
 *
 * - inbound: the agent that took the call (its KV key on the record) and the pre-call hook's stored answer, never
 *   asked again, over the caller's and the dialed number and the caller's SHAKEN/STIR result (calls/connect.ts);
 * - outbound: the context the call was placed with (kept on the line, line/outbound.ts outboundContextOfCall): our number calls
 *   the callee, `direction: "outbound"`, the agent as it was when placed, the request's variables and metadata
 *   (outbound/answer.ts).
 */
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import type { Bindings } from "../env.ts";
import type { AgentConfig } from "../agents/schema.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { registrationParams } from "../calls/connect.ts";
import { askLine, lineStub } from "../line/address.ts";
import { outboundRegistrationParams } from "../outbound/answer.ts";
import { keptContext } from "../outbound/context.ts";
import type { CallRecord } from "../records/list.ts";
import type { TransferAttempt } from "../records/transfer-attempt.ts";

/** The dynamic variable that tells the agent's prompt the transfer failed, and to whom (docs/transfers.md). */
export const TRANSFER_FAILED_VARIABLE = "transfer_failed";

export type WayBack =
  /** `agent`: what the caller gets if Retell refuses the registration (its fallback number, voicemail or the apology). */
  | { ok: true; agent: AgentConfig; params: CallRegisterPhoneCallParams }
  | { ok: false; reason: string; detail: string };

/** What the transfer-complete request knows of the call, for what the record lacks. */
export interface WayBackCall {
  callSid: string;
  accountSid?: string;
  from?: string;
  to?: string;
}

export async function wayBackRegistration(env: Bindings, line: string, call: WayBackCall, record: CallRecord, attempt: TransferAttempt): Promise<WayBack> {
  const failed = { [TRANSFER_FAILED_VARIABLE]: attempt.destination };
  const stub = lineStub(env, line);
  const accountSid = record.accountSid ?? call.accountSid;
  if (record.direction === "outbound") {
    const placed = await askLine(stub.outboundCall(call.callSid), "line outbound call").catch(() => null);
    // Without the context the registration could not be the first one's: the caller gets the fallback instead.
    if (!placed) return { ok: false, reason: "outbound_context_missing", detail: "the line holds no outbound context for the call" };
    const context = keptContext(placed);
    const params = outboundRegistrationParams({ ...context, dynamicVariables: { ...context.dynamicVariables, ...failed } }, call.callSid, accountSid ?? undefined, line);
    return { ok: true, agent: context.agent, params };
  }
  const lookup = await lookupAgent(env.AGENTS, record.agentKey);
  if (!lookup.ok) return { ok: false, reason: lookup.reason, detail: lookup.detail };
  // The failed destination joins the agent's own variables, so the prompt can say "nobody is free, can I take a message?".
  const agent: AgentConfig = { ...lookup.agent, dynamicVariables: { ...lookup.agent.dynamicVariables, ...failed } };
  // The pre-call hook is never asked twice for a call: its first answer (stored on the line) applies again, under transfer_failed.
  const stored = await askLine(stub.hookAnswer(call.callSid), "line hook answer").catch(() => null);
  const hook = stored && { ...stored.answer, dynamic_variables: { ...stored.answer.dynamic_variables, ...failed } };
  const inbound = {
    callSid: call.callSid,
    from: record.from ?? call.from ?? "",
    to: record.to ?? call.to ?? "",
    dryRun: false,
    ...(accountSid && { accountSid }),
    ...(record.stirVerstat && { stirVerstat: record.stirVerstat }),
  };
  return { ok: true, agent: lookup.agent, params: registrationParams(inbound, agent, line, hook ?? undefined) };
}
