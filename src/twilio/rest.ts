/**
 * Twilio's REST API (2010-04-01) from the Worker: one form-encoded POST with HTTP Basic auth (the account SID and
 * TWILIO_AUTH_TOKEN, https://www.twilio.com/docs/usage/requests-to-twilio, as twilio-node's RequestClient does),
 * a time limit, and every failure as a typed result. No retries: a request that timed out may have been applied
 * (a call placed, a call moved), and a caller is waiting.
 */
import { withDeadlineSignal } from "../deadline.ts";
import type { Bindings } from "../env.ts";

/** Twilio's REST origin when TWILIO_API_BASE_URL is not set. */
export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";
/** Twilio's account SIDs: AC and 32 hex digits (twilio-node BaseTwilio.setAccountSid). */
const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
/** Twilio's error codes are 5-digit numbers (https://www.twilio.com/docs/api/errors); anything else is not kept. */
const ERROR_CODE = /^\d{5}$/;

export type TwilioFailureReason =
  | "twilio_not_configured" // no auth token, or no valid account SID: nothing was sent
  | "twilio_rejected" // a 4xx: Twilio refused the request and did nothing (a call not in progress is 21220)
  | "twilio_unavailable" // a 5xx or 429: Twilio answered with an error and did nothing
  | "twilio_unreachable" // the network failed: whether Twilio acted is unknown
  | "twilio_timeout"; // no answer within the time limit: whether Twilio acted is unknown

export type TwilioFailure = {
  ok: false;
  reason: TwilioFailureReason;
  status?: number;
  code?: number;
  /** Twilio's own error message. It can echo the request (phone numbers): for the API's caller, never for a log. */
  message?: string;
  /** For the log: status and code, or what went wrong on the way. */
  detail: string;
};

export type TwilioResult = { ok: true; status: number; body: Record<string, unknown> | null } | TwilioFailure;

/** Form fields: a record, or pairs where a name repeats (Twilio takes lists such as StatusCallbackEvent one field per value). */
export type TwilioForm = Record<string, string> | [name: string, value: string][];

/** Whether Twilio certainly did nothing: nothing was sent, or Twilio answered with an error. */
export function nothingDone(failure: TwilioFailure): boolean {
  return failure.reason !== "twilio_timeout" && failure.reason !== "twilio_unreachable";
}

/** A failure as one token for records and logs: `twilio_timeout`, `twilio_rejected_400_21220`, ... */
export function failureLabel(failure: TwilioFailure): string {
  return [failure.reason, failure.status, failure.code].filter((part) => part !== undefined).join("_");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** POST `{TWILIO_API_BASE_URL}/2010-04-01/Accounts/{accountSid}{path}` with `form`. */
export async function twilioPost(
  env: Pick<Bindings, "TWILIO_API_BASE_URL" | "TWILIO_AUTH_TOKEN">,
  accountSid: string,
  path: string,
  form: TwilioForm,
  timeoutMs: number,
): Promise<TwilioResult> {
  const token = env.TWILIO_AUTH_TOKEN;
  if (!token) return { ok: false, reason: "twilio_not_configured", detail: "TWILIO_AUTH_TOKEN is not set" };
  if (!ACCOUNT_SID.test(accountSid)) return { ok: false, reason: "twilio_not_configured", detail: "no valid account SID" };
  const base = (env.TWILIO_API_BASE_URL || DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
  let answer: { response: Response; body: unknown };
  try {
    answer = await withDeadlineSignal(timeoutMs, async (signal) => {
      const response = await fetch(`${base}/2010-04-01/Accounts/${accountSid}${path}`, {
        method: "POST",
        headers: {
          Authorization: `Basic ${btoa(`${accountSid}:${token}`)}`,
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body: new URLSearchParams(form),
        signal,
      });
      return { response, body: await response.json().catch(() => null) };
    });
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return { ok: false, reason: "twilio_timeout", detail: `no answer within ${timeoutMs} ms` };
    }
    return { ok: false, reason: "twilio_unreachable", detail: error instanceof Error ? error.message : String(error) };
  }
  const { response, body } = answer;
  if (response.ok) return { ok: true, status: response.status, body: isRecord(body) ? body : null };
  // Twilio's error body: { code, message, more_info, status } (twilio-node RestException).
  const fields = isRecord(body) ? body : {};
  const code = ERROR_CODE.test(String(fields.code ?? "")) ? Number(fields.code) : undefined;
  const reason: TwilioFailureReason = response.status === 429 || response.status >= 500 ? "twilio_unavailable" : "twilio_rejected";
  return {
    ok: false,
    reason,
    status: response.status,
    ...(code !== undefined && { code }),
    ...(typeof fields.message === "string" && { message: fields.message }),
    detail: `HTTP ${response.status}${code !== undefined ? ` code ${code}` : ""}`,
  };
}
