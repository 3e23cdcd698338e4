/**
 * A voice webhook exactly as Twilio sends it: POST, form-encoded, X-Twilio-Signature over the URL Twilio
 * calls plus the sorted parameters, I-Twilio-Idempotency-Token, Accept-Encoding: gzip, TwilioProxy's agent.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { DRY_RUN_PARAM } from "../../src/twilio/params.ts";
import { formBody, twilioSignature, type FormParams } from "./signature.ts";

export const hexId = (prefix: string) => prefix + randomBytes(16).toString("hex");

/** The parameters of an inbound call's first webhook (Twilio's "Request parameters" for voice). */
export function inboundCallParams(options: { from: string; to: string; accountSid: string; dryRun?: boolean }): FormParams {
  const params: FormParams = {
    AccountSid: options.accountSid,
    ApiVersion: "2010-04-01",
    CallSid: hexId("CA"),
    CallStatus: "ringing",
    CallToken: randomBytes(24).toString("hex"),
    Called: options.to,
    Caller: options.from,
    Direction: "inbound",
    From: options.from,
    To: options.to,
  };
  if (options.dryRun) params[DRY_RUN_PARAM] = "1";
  return params;
}

export interface SignedWebhook {
  url: string;
  headers: Record<string, string>;
  body: string;
  params: FormParams;
}

/**
 * Signs `params` for `signedUrl` (the URL Twilio is configured with; the Worker checks against WEBHOOK_BASE_URL
 * + path when set) and addresses the request to `url` (where the Worker really listens).
 */
export function signedWebhook(options: { url: string; signedUrl?: string; authToken: string; params: FormParams }): SignedWebhook {
  return {
    url: options.url,
    params: options.params,
    body: formBody(options.params),
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-Twilio-Signature": twilioSignature(options.authToken, options.signedUrl ?? options.url, options.params),
      "I-Twilio-Idempotency-Token": randomUUID(),
      "Accept-Encoding": "gzip",
      Accept: "*/*",
      "User-Agent": "TwilioProxy/1.1",
      "Cache-Control": "max-age=259200",
    },
  };
}

export interface WebhookAnswer {
  status: number;
  contentType: string;
  text: string;
  ms: number;
}

export async function sendWebhook(webhook: SignedWebhook, timeoutMs = 15_000): Promise<WebhookAnswer> {
  const started = Date.now();
  const response = await fetch(webhook.url, { method: "POST", headers: webhook.headers, body: webhook.body, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text, ms: Date.now() - started };
}

/** The SIP URI a TwiML answer dials, or null. */
export function sipTarget(twiml: string): string | null {
  return /<Sip>([^<]*)<\/Sip>/.exec(twiml)?.[1] ?? null;
}

export function numberTarget(twiml: string): string | null {
  return /<Number>([^<]*)<\/Number>/.exec(twiml)?.[1] ?? null;
}

export function spokenText(twiml: string): string | null {
  return /<Say[^>]*>([^<]*)<\/Say>/.exec(twiml)?.[1] ?? null;
}
