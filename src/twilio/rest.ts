/**
 * Twilio's REST API (2010-04-01) from the Worker: one form-encoded POST, authenticated with HTTP Basic
 * (account SID and auth token, as twilio-node's RequestClient does), under one time limit, with Twilio's
 * answer or its error (`{ code, message, more_info, status }`, twilio-node RestException) as a typed result.
 */
import type { Bindings } from "../env.ts";

export const DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com";
/** How much of an error body that is not Twilio's JSON is kept for the log. */
const MAX_DETAIL_CHARS = 160;

export type TwilioResult =
  | { ok: true; status: number; body: Record<string, unknown> }
  /** Twilio answered with an error: nothing was done. */
  | { ok: false; kind: "rejected"; status: number; code: number | null; message: string }
  /** No answer (network error or the time limit): whether Twilio acted is unknown. */
  | { ok: false; kind: "no_answer"; detail: string };

export type TwilioForm = [name: string, value: string][];

function basicAuth(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * POST `{TWILIO_API_BASE_URL}/2010-04-01/Accounts/{accountSid}{path}` with `form` (a name may repeat, as Twilio
 * takes lists such as StatusCallbackEvent: one field per value).
 */
export async function twilioPost(env: Pick<Bindings, "TWILIO_API_BASE_URL" | "TWILIO_AUTH_TOKEN">, accountSid: string, path: string, form: TwilioForm, timeoutMs: number): Promise<TwilioResult> {
  const base = (env.TWILIO_API_BASE_URL || DEFAULT_TWILIO_API_BASE_URL).replace(/\/+$/, "");
  const url = `${base}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}${path}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        Authorization: basicAuth(accountSid, env.TWILIO_AUTH_TOKEN),
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { ok: false, kind: "no_answer", detail: timedOut ? `no answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error) };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok && isRecord(body)) return { ok: true, status: response.status, body };
  // A success without the resource: Twilio may well have acted, so this is no refusal.
  if (response.ok) return { ok: false, kind: "no_answer", detail: `HTTP ${response.status} without a JSON body` };
  const fields = isRecord(body) ? body : {};
  const code = typeof fields.code === "number" && Number.isInteger(fields.code) ? fields.code : null;
  const message = typeof fields.message === "string" ? fields.message : `HTTP ${response.status}${text ? `: ${text.slice(0, MAX_DETAIL_CHARS)}` : ""}`;
  return { ok: false, kind: "rejected", status: response.status, code, message };
}
