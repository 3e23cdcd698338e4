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

/**
 * The parameters as Twilio's signature covers them: each name and value, sorted by name (UTF-16 code unit order),
 * joined with nothing; a repeated name contributes each distinct value, sorted (signature.ts puts the URL first).
 */
export function joinedParams(params: TwilioParams): string {
  let data = "";
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) data += name + value;
  }
  return data;
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
  /** Twilio's SHAKEN/STIR result (rules/verification.ts), when the call carried an identity header and it is one of Twilio's shapes. */
  stirVerstat?: string;
  /** What Twilio says about the caller, when it says it (tw-twiml's voice webhook parameters): for the pre-call hook. */
  caller?: CallerDetails;
  /**
   * Set by `npm run doctor` (never by Twilio): answer as for a real call but register nothing with Retell.
   * The parameter is covered by the signature, so only a holder of the auth token can set it.
   */
  dryRun: boolean;
}

export interface CallerDetails {
  /** `CallerName`: only with the number's paid CNAM lookup. */
  name?: string;
  /** `FromCountry`, `FromState`, `FromCity`: geographic, when available. */
  country?: string;
  state?: string;
  city?: string;
  /** `StirVerstat`: the SHAKEN/STIR verdict on US calls (`TN-Validation-Passed-A`, …). */
  stirVerstat?: string;
}

/** Caller details by Twilio parameter name. */
const CALLER_PARAMS = [
  ["name", "CallerName"],
  ["country", "FromCountry"],
  ["state", "FromState"],
  ["city", "FromCity"],
  ["stirVerstat", "StirVerstat"],
] as const;

/** The signed form parameter that makes a voice webhook a dry run. */
export const DRY_RUN_PARAM = "BridgeDryRun";
/** The call id a dry run answers with: a SIP URI of the right shape that Retell will never accept. */
export const DRY_RUN_CALL_ID = "dry_run";

/** Twilio's SIDs are two letters naming the kind and 32 hex digits (twilio-node's docs: `^AC[0-9a-fA-F]{32}$`). */
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
export function isAccountSid(value: string): boolean {
  return ACCOUNT_SID.test(value);
}

/** The version of Twilio's API every current webhook comes from (twilio-retell-protocols.md §2.1). */
const API_VERSION = "2010-04-01";
/** The dry-run flag as it reads in the string Twilio signs: name and value joined. */
const DRY_RUN_TEXT = `${DRY_RUN_PARAM}1`;

/**
 * Twilio's signature joins names and values with no separator, so a captured request can be re-split into
 * other parameters with the same signature (`CallSid=CA…` + `CallStatus=ringing` → one longer CallSid;
 * `ApiVersion=2010-04-01` + `BridgeDryRun=1` → `ApiVersion=2010-04-01BridgeDryRun1`, no longer a dry run).
 * A re-split moves characters between names and values: exact shapes for these parameters refuse every one that
 * touches them, and one that leaves them whole keeps the CallSid, which the voice webhook's replay check covers.
 * Each rule: the parameter, whether it must be there, the values it may have, and what to say otherwise.
 */
const IDENTIFIERS: { name: string; required: boolean; valid: (value: string) => boolean; expected: string }[] = [
  { name: "CallSid", required: true, valid: (v) => CALL_SID.test(v), expected: "Twilio's call SID, CA and 32 hex digits" },
  { name: "AccountSid", required: false, valid: (v) => ACCOUNT_SID.test(v), expected: "Twilio's account SID, AC and 32 hex digits" },
  { name: "ApiVersion", required: false, valid: (v) => v === API_VERSION, expected: API_VERSION },
  { name: DRY_RUN_PARAM, required: false, valid: (v) => v === "1", expected: "1" },
];

/**
 * Twilio's parameter names: an ASCII capital, then letters, digits, `_`, `-` and `.` (`CallSid`,
 * `SipHeader_X-Custom`, `Called.Zip` …). Twilio signs the URL followed by the sorted names and values with no
 * separator, so the tail of a signed URL can be moved into the first parameter's name when the moved text sorts
 * before `A` (`/status`, `=fallback`): no Twilio name starts so, and no such name is accepted.
 */
const TWILIO_NAME = /^[A-Z][A-Za-z0-9_.-]*$/;
export function isTwilioShapedName(name: string): boolean {
  return TWILIO_NAME.test(name);
}

/**
 * The parameter every URL the Worker gives Twilio ends with, whose value is digits: moved into a first parameter's
 * name, any tail of the URL would start that name with `=` or a digit, which isTwilioShapedName refuses. Without
 * it, a URL ending in capitals (an agent key, a sentence) could lend its tail to a name that sorts before `A`.
 */
export const URL_END_PARAM = "end";

/** `url` with URL_END_PARAM last, as every URL given to Twilio (callbacks, actions, whispers) must be. */
export function endTwilioUrl(url: URL): string {
  url.searchParams.delete(URL_END_PARAM);
  url.searchParams.append(URL_END_PARAM, "1");
  return url.toString();
}

/** What is wrong with Twilio's identifiers in a signed request, safe to answer with; null when they are right. */
export function identifierProblem(params: TwilioParams): { param: string; message: string } | null {
  for (const name of params.keys()) {
    // The name itself is never echoed or logged: it may carry a caller's number (a re-split moves values into names).
    if (!isTwilioShapedName(name)) return { param: "(a parameter name)", message: "every parameter name must be Twilio's: an ASCII capital letter, then letters, digits, _, - and ." };
  }
  for (const { name, required, valid, expected } of IDENTIFIERS) {
    const values = params.get(name);
    // One value (Twilio sends each once; a repeat of the same value changes nothing, the signature dedupes it).
    if (values === undefined ? required : new Set(values).size !== 1 || !valid(values[0] as string)) {
      return { param: name, message: `${name} must be ${expected}` };
    }
  }
  // A re-split can also move the flag's own cut (`BridgeDryRu=n1`, `BridgeDryRun1=`) or hide the flag in another
  // parameter (`ApiVersion2010-04-01=BridgeDryRun1`), but the string Twilio signed keeps its text whole: wherever
  // that text is, the request must carry the flag itself. (Twilio never sends the text; a caller who puts it in
  // their own caller name only stops their own call.)
  if (!params.has(DRY_RUN_PARAM) && joinedParams(params).includes(DRY_RUN_TEXT)) {
    return { param: DRY_RUN_PARAM, message: `${DRY_RUN_PARAM} must be a parameter of its own, ${DRY_RUN_PARAM}=1` };
  }
  return null;
}

/** A StirVerstat value kept as it came: Twilio's are short words and hyphens (rules/verification.ts); anything else is dropped. */
const STORABLE_VERSTAT = /^[A-Za-z0-9-]{1,64}$/;

/** The fields every voice webhook must carry; `null` when one is missing. */
export function readInboundCall(params: TwilioParams): InboundCall | null {
  const callSid = param(params, "CallSid");
  const from = param(params, "From");
  const to = param(params, "To");
  if (!callSid || !from || !to) return null;
  const stirVerstat = STORABLE_VERSTAT.test(param(params, "StirVerstat") ?? "") ? param(params, "StirVerstat") : undefined;
  const caller: CallerDetails = {};
  for (const [field, name] of CALLER_PARAMS) {
    const value = param(params, name);
    if (value !== undefined) caller[field] = value;
  }
  return {
    callSid,
    from,
    to,
    accountSid: param(params, "AccountSid"),
    ...(Object.keys(caller).length > 0 && { caller }),
    ...(stirVerstat && { stirVerstat }),
    dryRun: param(params, DRY_RUN_PARAM) === "1",
  };
}
