/**
 * Reads the Worker's vars with their defaults. Every name here is documented in docs/configuration.md.
 */
import type { Bindings } from "./env.ts";
import { AppError } from "./errors.ts";
import { log } from "./log.ts";
import { DEFAULT_RETELL_BASE_URL, type RetellClientConfig } from "./retell/register.ts";
import { signer, type Signer } from "./standard-webhooks/sign.ts";

export const DEFAULT_RETELL_SIP_HOST = "sip.retellai.com";
/** Twilio drops a voice webhook after 15 s (tw-co "hard upper timeout"); 8 s leaves room to dial the fallback. */
export const DEFAULT_RETELL_TIMEOUT_MS = 8_000;
/** The most RETELL_TIMEOUT_MS may be: the answer must be complete before Twilio's 15 s are up. */
export const MAX_RETELL_TIMEOUT_MS = 12_000;

export function retellTimeoutMs(env: Bindings): number {
  const value = Number(env.RETELL_TIMEOUT_MS);
  if (!env.RETELL_TIMEOUT_MS || !Number.isFinite(value) || value < 100) return DEFAULT_RETELL_TIMEOUT_MS;
  return Math.min(value, MAX_RETELL_TIMEOUT_MS);
}

export function retellBaseUrl(env: Bindings): string {
  return env.RETELL_BASE_URL || DEFAULT_RETELL_BASE_URL;
}

/** How this Worker talks to Retell, with `timeoutMs` for every attempt; a missing RETELL_API_KEY is logged (and nothing is sent). */
export function retellClient(env: Bindings, timeoutMs: number): RetellClientConfig {
  if (!env.RETELL_API_KEY) log("error", "config.missing_secret", { secret: "RETELL_API_KEY", fix: "wrangler secret put RETELL_API_KEY" });
  return { baseUrl: retellBaseUrl(env), apiKey: env.RETELL_API_KEY, timeoutMs };
}

export function retellSipHost(env: Bindings): string {
  return env.RETELL_SIP_HOST || DEFAULT_RETELL_SIP_HOST;
}

/**
 * The URL Twilio signed. With WEBHOOK_BASE_URL (scheme and host, e.g. https://calls.example.com), its origin
 * plus the request's own path and query; otherwise the request's URL. A WEBHOOK_BASE_URL that is not a bare
 * origin is the `misconfigured` failure (500, the var named in the log), so a typo fails closed instead of
 * rejecting every call with 403 and no hint why.
 */
export function signedUrl(env: Bindings, requestUrl: string): string {
  const base = env.WEBHOOK_BASE_URL?.trim();
  if (!base) return requestUrl;
  const origin = base.replace(/\/+$/, "");
  if (!/^https?:\/\/[^/?#\s]+$/i.test(origin)) {
    throw new AppError({
      kind: "misconfigured",
      detail: "WEBHOOK_BASE_URL must be a scheme and host only, such as https://calls.example.com",
      event: "config.invalid_var",
      log: { var: "WEBHOOK_BASE_URL" },
    });
  }
  const url = new URL(requestUrl);
  return origin + url.pathname + url.search;
}

/** The last signer built, by its two secrets: checking and decoding them is per secret, not per message. */
let lastSigner: { primary: string | undefined; secondary: string | undefined; signer: Signer } | undefined;

/** Signs what the Worker sends to the operator's servers; fails closed (no signer) on a missing or malformed secret. */
export function webhookSigner(env: Bindings): Signer {
  const primary = env.WEBHOOK_SIGNING_SECRET;
  const secondary = env.WEBHOOK_SIGNING_SECRET_SECONDARY;
  if (lastSigner && lastSigner.primary === primary && lastSigner.secondary === secondary) return lastSigner.signer;
  const built = signer({ primary, secondary, primaryName: "WEBHOOK_SIGNING_SECRET", secondaryName: "WEBHOOK_SIGNING_SECRET_SECONDARY" });
  lastSigner = { primary, secondary, signer: built };
  return built;
}
