/**
 * Twilio's REST API (2010-04-01) from the Worker: one form-encoded POST with HTTP Basic auth (the account SID and
 * TWILIO_AUTH_TOKEN, https://www.twilio.com/docs/usage/requests-to-twilio), a time limit, and every failure as a
 * typed result. No retries: an update that timed out may have been applied, and a caller is waiting.
 */
import type { Bindings } from "../env.ts";

/** Twilio's REST origin when TWILIO_API_BASE_URL is not set. */
export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";
/** Twilio's account SIDs: AC and 32 hex digits (twilio-node BaseTwilio.setAccountSid). */
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** Twilio's error codes are numbers (https://www.twilio.com/docs/api/errors); anything else is not kept. */
const ERROR_CODE = /^\d{5}$/;

export type TwilioFailureReason =
  | "twilio_not_configured" // no auth token, or no valid account SID: nothing was sent
  | "twilio_rejected" // a 4xx: Twilio refused the request (a call not in progress is 21220)
  | "twilio_unavailable" // a 5xx or 429
  | "twilio_unreachable" // the network failed
  | "twilio_timeout"; // no answer within the time limit: the request may or may not have been applied

export type TwilioResult =
  | { ok: true; status: number; body: unknown }
  | { ok: false; reason: TwilioFailureReason; status?: number; code?: string; detail: string };

/** A failure as one token for records and logs: `twilio_timeout`, `twilio_rejected_400_21220`, ... */
export function failureLabel(failure: Extract<TwilioResult, { ok: false }>): string {
  return [failure.reason, failure.status, failure.code].filter((part) => part !== undefined).join("_");
}

export async function twilioPost(env: Bindings, accountSid: string, path: string, form: Record<string, string>, timeoutMs: number): Promise<TwilioResult> {
  const token = env.TWILIO_AUTH_TOKEN;
  if (!token) return { ok: false, reason: "twilio_not_configured", detail: "TWILIO_AUTH_TOKEN is not set" };
  if (!ACCOUNT_SID.test(accountSid)) return { ok: false, reason: "twilio_not_configured", detail: "no valid account SID for the call" };
  const base = (env.TWILIO_API_BASE_URL || DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
  const url = `${base}/2010-04-01/Accounts/${accountSid}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        Authorization: `Basic ${btoa(`${accountSid}:${token}`)}`,
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams(form),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return { ok: false, reason: "twilio_timeout", detail: `no answer within ${timeoutMs} ms` };
    }
    return { ok: false, reason: "twilio_unreachable", detail: error instanceof Error ? error.message : String(error) };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok) return { ok: true, status: response.status, body };
  // Twilio's error body: { code, message, more_info, status } (twilio-node RestException). The message can echo
  // the request (numbers), so only the code is kept.
  const code = typeof body === "object" && body !== null ? String((body as { code?: unknown }).code ?? "") : "";
  const reason: TwilioFailureReason = response.status === 429 || response.status >= 500 ? "twilio_unavailable" : "twilio_rejected";
  return { ok: false, reason, status: response.status, ...(ERROR_CODE.test(code) && { code }), detail: `HTTP ${response.status}${ERROR_CODE.test(code) ? ` code ${code}` : ""}` };
}
