/**
 * The `<Dial action>` callback (POST /api/webhooks/twilio/dial-complete): Twilio posts it when a dial ends, and
 * its answer controls the rest of the call, since verbs after an actioned `<Dial>` are never reached
 * (https://www.twilio.com/docs/voice/twiml/dial#action). When the SIP leg to Retell failed, the caller goes to
 * the agent's fallback number or hears an apology; when it completed, the call simply ends.
 */
import { endTwilioUrl, param, type TwilioParams } from "../twilio/params.ts";
import { normalizeE164 } from "../phone.ts";
import { AGENT_KEY_PREFIX, ROUTE_AGENT_ID } from "../agent-key.ts";
import type { DialActions } from "./outcome.ts";
import type { Voicemail } from "../line/voice-outcome.ts";
import type { DialFailureReason, DialLeg, DialReport } from "../line/dial-report.ts";

export const DIAL_COMPLETE_PATH = "/api/webhooks/twilio/dial-complete";

/**
 * DialCallStatus values meaning the dialed party never took the call (tw-dial "DialCallStatus"). `canceled`
 * is not one: the caller hung up while it rang, so there is nobody left to send anywhere.
 */
const FAILED_DIAL_STATUSES = new Set(["busy", "no-answer", "failed"]);
/** Statuses after which a SIP error code is not a failure: the call was answered, or the caller left. */
const SETTLED_DIAL_STATUSES = new Set(["completed", "answered", "canceled"]);

export type DialResult = { failed: false } | { failed: true; reason: DialFailureReason };

/** The action URLs for a call's dials: absolute, on the origin Twilio signed, naming the agent's KV key. */
export function dialActions(signedRequestUrl: string, agentKey: string): DialActions {
  const origin = new URL(signedRequestUrl).origin;
  const url = (leg: DialLeg) => {
    const action = new URL(DIAL_COMPLETE_PATH, origin);
    // Covered by Twilio's signature when it posts back, so the key cannot be swapped for another agent's.
    action.searchParams.set("agent", agentKey);
    action.searchParams.set("leg", leg);
    return endTwilioUrl(action);
  };
  return { retell: url("retell"), fallback: url("fallback") };
}

/** A KV key as the voice webhook builds them (`+E164` or `agent:<id>`), or null for anything else. */
export function readAgentKey(value: string | null | undefined): string | null {
  if (!value) return null;
  if (value.startsWith(AGENT_KEY_PREFIX)) return ROUTE_AGENT_ID.test(value.slice(AGENT_KEY_PREFIX.length)) ? value : null;
  return normalizeE164(value) === value ? value : null;
}

export function readDialReport(params: TwilioParams, query: { agent?: string; leg?: string }): DialReport | null {
  const callSid = param(params, "CallSid");
  if (!callSid) return null;
  const report: DialReport = { callSid, leg: query.leg === "fallback" ? "fallback" : "retell", agentKey: readAgentKey(query.agent) };
  const status = param(params, "DialCallStatus");
  if (status !== undefined) report.status = status;
  // Some integrations have seen DialCallSIPResponseCode; Twilio documents DialSipResponseCode (tw-sip).
  const sipCode = Number(param(params, "DialSipResponseCode") ?? param(params, "DialCallSIPResponseCode"));
  if (Number.isInteger(sipCode) && sipCode >= 100 && sipCode <= 699) report.sipCode = sipCode;
  const duration = Number(param(params, "DialCallDuration"));
  if (Number.isInteger(duration) && duration >= 0) report.durationS = duration;
  for (const [field, name] of [["accountSid", "AccountSid"], ["from", "From"], ["to", "To"]] as const) {
    const value = param(params, name);
    if (value !== undefined) report[field] = value;
  }
  return report;
}

export function classifyDial(report: Pick<DialReport, "status" | "sipCode">): DialResult {
  const { status, sipCode } = report;
  if (status !== undefined && FAILED_DIAL_STATUSES.has(status)) return { failed: true, reason: `dial_${status.replace("-", "_")}` };
  if (sipCode !== undefined && sipCode >= 400 && !(status !== undefined && SETTLED_DIAL_STATUSES.has(status))) {
    return { failed: true, reason: `dial_sip_${sipCode}` };
  }
  return { failed: false };
}

/**
 * What the caller gets next. Only a failed Retell leg is sent to the fallback, so a fallback never loops; the
 * agent's voicemail takes a message when there is no fallback number, or when the fallback failed too.
 */
export type DialNext = { kind: "end" } | { kind: "fallback"; number: string } | { kind: "voicemail"; voicemail: Voicemail } | { kind: "apology" };

export function nextAfterDial(leg: DialLeg, result: DialResult, fallbackNumber: string | undefined, voicemail?: Voicemail): DialNext {
  if (!result.failed) return { kind: "end" };
  if (leg === "retell" && fallbackNumber) return { kind: "fallback", number: fallbackNumber };
  if (voicemail) return { kind: "voicemail", voicemail };
  return { kind: "apology" };
}
