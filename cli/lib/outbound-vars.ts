/**
 * What `doctor` and `deploy` say about the Worker's outbound settings: TWILIO_ACCOUNT_SID (the account POST
 * /api/calls places calls on), the limits, the allowed countries, and the tokens, checked with the Worker's own rules.
 */
import { allowedCountries } from "../../src/outbound/destination.ts";
import { outboundLimits } from "../../src/line/outbound-limits.ts";
import { tokenProblem } from "../../src/tokens.ts";
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
  if (read.ok) {
    const { maxConcurrent, dailyLimit, accountDailyLimit } = read.limits;
    findings.push({ ok: true, text: `outbound limits: per number ${maxConcurrent} at once and ${dailyLimit} a UTC day; ${accountDailyLimit} a UTC day from all numbers together` });
  } else {
    findings.push({ ok: false, text: `${read.message} (${where})`, fix: `correct it in ${where}` });
  }
  const countries = allowedCountries(vars.OUTBOUND_ALLOWED_COUNTRIES, null);
  if (!countries.ok) findings.push({ ok: false, text: `${countries.message} (${where})`, fix: `correct it in ${where}, e.g. OUTBOUND_ALLOWED_COUNTRIES = "AU,NZ"` });
  else if (countries.countries.size === 0) findings.push({ ok: true, text: "outbound calls reach only the calling number's own country (OUTBOUND_ALLOWED_COUNTRIES is empty); never premium-rate or satellite numbers" });
  else findings.push({ ok: true, text: `outbound calls reach ${[...countries.countries].join(", ")} (OUTBOUND_ALLOWED_COUNTRIES); never premium-rate or satellite numbers` });
  return findings;
}

/** The tokens whose values are known here (.dev.vars, a --secrets-file), checked with the Worker's rule (src/tokens.ts). */
export function tokenFindings(values: { ADMIN_TOKEN?: string | undefined; CALLS_TOKEN?: string | undefined }, where: string): Finding[] {
  const findings: Finding[] = [];
  for (const name of ["ADMIN_TOKEN", "CALLS_TOKEN"] as const) {
    const value = values[name];
    if (value === undefined || value === "") continue;
    const problem = tokenProblem(name, value);
    if (problem) findings.push({ ok: false, text: `${problem} (${where})`, fix: `set a new ${name} in ${where}: openssl rand -hex 32` });
    else findings.push({ ok: true, text: `${name} (${where}) follows the token rule${name === "CALLS_TOKEN" ? ": at least 32 characters" : ""}` });
  }
  return findings;
}
