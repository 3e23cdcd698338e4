/**
 * How a `<Dial>` ended, as the line records it (line/transitions.ts applyDial): Twilio's dial-complete action
 * (calls/dial-complete.ts reads it) with the leg and agent from the action URL's signed query.
 */

/** Which dial ended: the SIP leg to Retell, or the fallback number dialed instead of it. */
export type DialLeg = "retell" | "fallback";

/** Why a dial failed: `dial_busy`, `dial_no_answer`, `dial_failed`, or `dial_sip_<code>` from the SIP code alone. */
export type DialFailureReason = `dial_${string}`;

export interface DialReport {
  callSid: string;
  leg: DialLeg;
  /** The KV key of the agent whose call this is, from the action URL's signed query. */
  agentKey: string | null;
  status?: string;
  /** DialSipResponseCode: the final SIP response to the INVITE (tw-sip); only on `<Sip>` dials. */
  sipCode?: number;
  /** DialCallDuration, seconds. */
  durationS?: number;
  accountSid?: string;
  from?: string;
  to?: string;
}
