/**
 * What an endpoint's answer means and when to try again, after the Standard Webhooks spec's delivery
 * recommendations (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md, "Retry schedule"):
 * 2xx delivered; 3xx a failure (redirects are never followed); 410 Gone turns the endpoint off; 429, 502, 503 and
 * 504 slow down, honouring Retry-After; anything else is retried on the schedule below.
 */
import { GONE_STATUS } from "../records/delivery.ts";

/**
 * Delay before attempt n+1 after attempt n failed (seconds): the spec's example schedule, at once, 5 s, 5 min,
 * 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. Ten attempts over about 75 hours, well past the 24 h the issue asks for.
 */
export const RETRY_DELAYS_S = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400] as const;
/** Attempts before a delivery is given up on (sent to the dead-letter queue). */
export const MAX_ATTEMPTS = RETRY_DELAYS_S.length + 1;
/** Queues' longest delaySeconds (developers.cloudflare.com/queues/platform/limits): a Retry-After beyond it waits this long. */
export const MAX_DELAY_S = 86_400;
/** ±10 % jitter, as the spec advises, so endpoints coming back are not hit by every delayed message at once. */
const JITTER = 0.1;

export type Outcome =
  | { kind: "delivered"; status: number }
  /** 410 Gone: the endpoint asked to receive nothing more. */
  | { kind: "gone"; status: number }
  /** A failure to retry; `retryAfterS` when the endpoint said when (429/502/503/504 with Retry-After). */
  | { kind: "failed"; status: number | null; error: string; retryAfterS?: number };

const SLOW_DOWN = new Set([429, 502, 503, 504]);

/** Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The outcome of one response. */
export function classify(status: number, retryAfter: string | null, now: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status === GONE_STATUS) return { kind: "gone", status };
  const error = status >= 300 && status < 400 ? "redirect (not followed)" : `HTTP ${status}`;
  const retryAfterS = SLOW_DOWN.has(status) ? retryAfterSeconds(retryAfter, now) : undefined;
  return retryAfterS === undefined ? { kind: "failed", status, error } : { kind: "failed", status, error, retryAfterS };
}

/** EVENTS_RETRY_SCALE: a factor in (0, 1] on the schedule, for local load runs only (hours become minutes); default 1. */
export function retryScale(value: string | undefined): number {
  const scale = Number(value);
  return value && Number.isFinite(scale) && scale > 0 && scale <= 1 ? scale : 1;
}

/** Seconds to wait after failed attempt `attempt` (1-based), or null once the schedule is used up. */
export function retryDelay(attempt: number, retryAfterS: number | undefined, random: () => number = Math.random, scale = 1): number | null {
  if (attempt >= MAX_ATTEMPTS) return null;
  if (retryAfterS !== undefined) return Math.min(MAX_DELAY_S, Math.max(1, retryAfterS));
  const base = (RETRY_DELAYS_S[Math.max(0, attempt - 1)] as number) * scale;
  return Math.min(MAX_DELAY_S, Math.max(1, Math.round(base * (1 + JITTER * (2 * random() - 1)))));
}
