/**
 * Twilio's webhook body: `application/x-www-form-urlencoded`, decoded the way Twilio signs it
 * (decoded names and values, `+` as space, repeated names kept).
 */
export type TwilioParams = Map<string, string[]>;

export function parseForm(body: string): TwilioParams {
  const params: TwilioParams = new Map();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = params.get(name);
    if (values) values.push(value);
    else params.set(name, [value]);
  }
  return params;
}

/** The first value of a parameter, or undefined when absent or empty. */
export function param(params: TwilioParams, name: string): string | undefined {
  const value = params.get(name)?.[0];
  return value === undefined || value === "" ? undefined : value;
}

export interface InboundCall {
  callSid: string;
  from: string;
  to: string;
  accountSid?: string;
  /**
   * Set by `npm run doctor` (never by Twilio): answer as for a real call but register nothing with Retell.
   * The parameter is covered by the signature, so only a holder of the auth token can set it.
   */
  dryRun: boolean;
}

/** The signed form parameter that makes a voice webhook a dry run. */
export const DRY_RUN_PARAM = "BridgeDryRun";
/** The call id a dry run answers with: a SIP URI of the right shape that Retell will never accept. */
export const DRY_RUN_CALL_ID = "dry_run";

/** The fields every voice webhook must carry; `null` when one is missing. */
export function readInboundCall(params: TwilioParams): InboundCall | null {
  const callSid = param(params, "CallSid");
  const from = param(params, "From");
  const to = param(params, "To");
  if (!callSid || !from || !to) return null;
  return { callSid, from, to, accountSid: param(params, "AccountSid"), dryRun: param(params, DRY_RUN_PARAM) === "1" };
}
