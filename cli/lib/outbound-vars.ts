/**
 * What `doctor` and `deploy` say about the Worker's outbound settings: TWILIO_ACCOUNT_SID (the account POST
 * /api/calls places calls on) and the two limits, checked with the Worker's own rules.
 */
import { outboundLimits } from "../../src/outbound/limits.ts";
import { isAccountSid } from "../../src/twilio/params.ts";

export interface Finding {
  /** true: fine; false: wrong (the operator must fix it); null: not set, which only turns outbound calls off. */
  ok: boolean | null;
  text: string;
  fix?: string;
}

/** `where` names where the values were read (wrangler.toml [vars], .dev.vars); `credentialsAccount`: the CLI's own Twilio account, when known. */
export function outboundFindings(vars: Record<string, string | undefined>, where: string, credentialsAccount?: string): Finding[] {
  const findings: Finding[] = [];
  const sid = vars.TWILIO_ACCOUNT_SID?.trim() ?? "";
  if (sid === "") {
    findings.push({ ok: null, text: `TWILIO_ACCOUNT_SID is not set in ${where} (optional: without it POST /api/calls and npm run call place no calls)` });
  } else if (!isAccountSid(sid)) {
    findings.push({ ok: false, text: `TWILIO_ACCOUNT_SID in ${where} is ${JSON.stringify(sid)}, not an account SID (AC and 32 hex digits)`, fix: `set TWILIO_ACCOUNT_SID in ${where} to the SID on the Twilio console's dashboard` });
  } else if (credentialsAccount !== undefined && credentialsAccount !== sid) {
    findings.push({ ok: false, text: `TWILIO_ACCOUNT_SID in ${where} is ${sid}, but the Twilio credentials here are for ${credentialsAccount}: outbound calls would be refused`, fix: `use one account: set TWILIO_ACCOUNT_SID in ${where} to ${credentialsAccount}, with that account's TWILIO_AUTH_TOKEN as the Worker's secret` });
  } else {
    findings.push({ ok: true, text: `TWILIO_ACCOUNT_SID is ${sid}: outbound calls are placed on this account` });
  }
  const read = outboundLimits(vars);
  if (read.ok) findings.push({ ok: true, text: `outbound limits per number: ${read.limits.maxConcurrent} at once, ${read.limits.dailyLimit} a UTC day` });
  else findings.push({ ok: false, text: `${read.message} (${where})`, fix: `correct it in ${where}` });
  return findings;
}
