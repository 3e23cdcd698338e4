/**
 * Registers an inbound call with Retell: POST /v2/register-phone-call
 * (https://docs.retellai.com/api-references/register-phone-call). Plain fetch typed with retell-sdk's
 * types, so the SDK's runtime stays out of the bundle.
 */
import { withDeadlineSignal } from "../deadline.ts";
import type { CallRegisterPhoneCallParams, PhoneCallResponse } from "retell-sdk/resources/call";

/** Retell's API origin (the default of retell-sdk's `baseURL`). */
export const DEFAULT_RETELL_BASE_URL = "https://api.retellai.com";
/** Attempts in all: the first plus two retries, all inside the caller's time budget. */
const MAX_ATTEMPTS = 3;
/** Backoff before retry n (ms): short, because a caller is waiting; jitter spreads bursts. */
const BACKOFF_MS = [150, 400];
/** Retell call ids go into a SIP URI's user part: letters, digits, `_` and `-` only, so nothing can redirect the dial. */
const CALL_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** An error code as APIs write them: a short token, which carries no caller data. */
const ERROR_CODE = /^[A-Za-z0-9_.-]{1,64}$/;
/**
 * Retell's answer when the account is full. What Retell documents (checked for this issue): register-phone-call
 * lists 429 "Account rate limited, please throttle your requests." among its errors
 * (https://docs.retellai.com/api-references/register-phone-call) and nothing naming concurrency; the concurrency
 * page (https://docs.retellai.com/deploy/concurrency) gives the quota (20 concurrent calls on pay-as-you-go) but no
 * error, and a call dialed over it ends with `disconnection_reason: concurrency_limit_reached`
 * (https://docs.retellai.com/reliability/debug-call-disconnect). So a 429 still failing after retries, or any error
 * whose text names concurrency, is taken as "at capacity": the caller is held rather than sent away.
 */
const NAMES_CONCURRENCY = /concurren/i;

export interface RetellClientConfig {
  baseUrl: string;
  apiKey: string;
  /** Total budget for every attempt and backoff, in milliseconds. */
  timeoutMs: number;
}

/** The SIP URI Twilio dials for registered call `callId`: Retell recommends SIP over TCP (docs.retellai.com/deploy/custom-telephony); Twilio's default is UDP (tw-sip). */
export function retellSipUri(callId: string, sipHost: string): string {
  return `sip:${callId}@${sipHost};transport=tcp`;
}

export type RegisterFailure =
  | "retell_rejected" // an answer retell-sdk would not retry (bad key, unknown agent, no payment)
  | "retell_unavailable" // an answer retell-sdk would retry (408, 409, 5xx), still failing after retries
  | "retell_at_capacity" // 429, still after retries, or an error naming the concurrency limit: the caller may hold (hold/)
  | "retell_unreachable" // network error, still failing after retries
  | "retell_timeout" // the budget ran out
  | "retell_bad_response" // 2xx without a usable call_id
  | "retell_not_configured"; // RETELL_API_KEY is not set: nothing to send

export type RegisterResult =
  | { ok: true; callId: string; attempts: number; ms: number }
  | { ok: false; reason: RegisterFailure; status?: number; detail: string; attempts: number; ms: number };

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });

/**
 * What of a Retell error answer is logged: the status, and Retell's error code when it sends one
 * (https://docs.retellai.com/api-references/register-phone-call). Never its message or body: that free text
 * echoes what the request carried (numbers in any format, `+1 (415) 555-0100`, callers' names), which no mask of
 * digit runs catches whole.
 */
function errorSummary(status: number, body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const fields = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const code = typeof fields.code === "string" && ERROR_CODE.test(fields.code) ? fields.code : undefined;
  return code ? `HTTP ${status} ${code}` : `HTTP ${status}`;
}

/**
 * Whether a failed answer is worth another attempt, decided exactly as retell-sdk 5.66.1 does (`shouldRetry` in
 * node_modules/retell-sdk/src/client.ts): Retell's `x-should-retry` header when it sends `true` or `false`, else
 * 408 (request timeout), 409 (lock timeout), 429 (rate limit) and every 5xx.
 */
function shouldRetry(response: Response): boolean {
  const header = response.headers.get("x-should-retry");
  if (header === "true") return true;
  if (header === "false") return false;
  return response.status === 408 || response.status === 409 || response.status === 429 || response.status >= 500;
}

/** Retry-After in ms (seconds or an HTTP date), when Retell sends one. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after");
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export async function registerPhoneCall(
  config: RetellClientConfig,
  params: CallRegisterPhoneCallParams,
  signal?: AbortSignal,
): Promise<RegisterResult> {
  if (!config.apiKey) return { ok: false, reason: "retell_not_configured", detail: "RETELL_API_KEY is not set", attempts: 0, ms: 0 };
  return withDeadlineSignal(config.timeoutMs, (budget) => attemptRegistration(config, params, signal ? AbortSignal.any([budget, signal]) : budget));
}

/** The attempts themselves, within `abort` (the budget, and the caller's own signal). */
async function attemptRegistration(config: RetellClientConfig, params: CallRegisterPhoneCallParams, abort: AbortSignal): Promise<RegisterResult> {
  const started = Date.now();
  const url = `${config.baseUrl.replace(/\/+$/, "")}/v2/register-phone-call`;
  const body = JSON.stringify(params);
  let attempts = 0;
  let last: Omit<Extract<RegisterResult, { ok: false }>, "attempts" | "ms"> = {
    ok: false,
    reason: "retell_unreachable",
    detail: "no attempt made",
  };
  const done = (result: typeof last | Omit<Extract<RegisterResult, { ok: true }>, "attempts" | "ms">): RegisterResult =>
    ({ ...result, attempts, ms: Date.now() - started }) as RegisterResult;

  while (attempts < MAX_ATTEMPTS) {
    attempts++;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { Authorization: `Bearer ${config.apiKey}`, "Content-Type": "application/json", Accept: "application/json" },
        body,
        signal: abort,
      });
    } catch (error) {
      if (abort.aborted) return done({ ok: false, reason: "retell_timeout", detail: `no answer within ${config.timeoutMs} ms` });
      last = { ok: false, reason: "retell_unreachable", detail: error instanceof Error ? error.message : String(error) };
      if (!(await backoff(attempts, undefined))) return done(last);
      continue;
    }

    if (response.ok) {
      let call: Partial<PhoneCallResponse> | null;
      try {
        call = (await response.json()) as Partial<PhoneCallResponse> | null;
      } catch {
        if (abort.aborted) return done({ ok: false, reason: "retell_timeout", detail: `no answer within ${config.timeoutMs} ms` });
        return done({ ok: false, reason: "retell_bad_response", status: response.status, detail: "response body is not JSON" });
      }
      const callId = call?.call_id;
      if (typeof callId !== "string" || !CALL_ID.test(callId)) {
        return done({ ok: false, reason: "retell_bad_response", status: response.status, detail: "response has no valid call_id" });
      }
      return done({ ok: true, callId });
    }

    // Drain the body so the connection can be reused; only a masked summary of it is kept for the log.
    const text = await response.text().catch(() => "");
    // A full account stays full for longer than a caller's budget: such an answer goes straight to the hold queue.
    const full = NAMES_CONCURRENCY.test(text);
    const retryable = !full && shouldRetry(response);
    last = {
      ok: false,
      reason: full || response.status === 429 ? "retell_at_capacity" : retryable ? "retell_unavailable" : "retell_rejected",
      status: response.status,
      detail: errorSummary(response.status, text),
    };
    if (!retryable || !(await backoff(attempts, retryAfterMs(response)))) return done(last);
  }
  return done(last);

  /** Waits before the next attempt; false when there is none or it would not fit in the budget. */
  async function backoff(attempt: number, requested: number | undefined): Promise<boolean> {
    if (attempt >= MAX_ATTEMPTS) return false;
    const base = BACKOFF_MS[attempt - 1] ?? BACKOFF_MS[BACKOFF_MS.length - 1] ?? 0;
    const wait = requested ?? base * (0.75 + Math.random() * 0.5);
    if (Date.now() - started + wait >= config.timeoutMs) return false;
    try {
      await sleep(wait, abort);
      return true;
    } catch {
      return false;
    }
  }
}
