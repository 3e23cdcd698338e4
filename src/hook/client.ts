/**
 * One call to the operator's hook: a signed POST with a deadline, one retry on a connection error while time
 * remains, no redirect followed, at most MAX_ANSWER_BYTES of answer read. Never throws and never returns the
 * body of a failed answer: what it returns is safe to log. Knows no framework.
 */
import { withDeadlineSignal } from "../deadline.ts";
import { signedHeaders } from "../standard-webhooks/sign.ts";
import { parseHookAnswer } from "./answer.ts";
import type { HookAnswer } from "../line/stored-hook.ts";

/** Retell's own inbound-webhook answers are small; 64 KiB is room for any real one, and bounds what a hostile server costs us. */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** A retry is only worth starting with at least this much of the deadline left. */
const MIN_RETRY_MS = 50;
/** Names the sender in the operator's access logs. */
const USER_AGENT = "twilio-retell-bridge (pre-call hook)";

export type HookFailure =
  /** The deadline passed before a whole answer arrived. */
  | "timeout"
  /** No connection, or it dropped (after the one retry). */
  | "unreachable"
  /** A 3xx: Standard Webhooks counts it a failure, and following it could send the call's details elsewhere. */
  | "redirect"
  /** Any other answer than 2xx or 3xx. */
  | "status"
  /** An answer longer than MAX_ANSWER_BYTES. */
  | "too_large"
  /** A 2xx whose body is not a valid answer (see answer.ts). */
  | "invalid";

export type HookReply =
  | { ok: true; status: number; answer: HookAnswer; attempts: number; ms: number }
  | { ok: false; reason: HookFailure; status?: number; detail: string; attempts: number; ms: number };

export interface HookExchange {
  url: string;
  /** The JSON body, signed as it is sent. */
  body: string;
  /** The Standard Webhooks message id: the same on the retry. */
  messageId: string;
  sign: (id: string, timestamp: number, body: string) => Promise<string>;
  timeoutMs: number;
}

class TooLarge extends Error {}

/**
 * The body as text, given up on past `limit` bytes. A declared Content-Length says so before any is read; with no
 * Content-Encoding it also bounds the body (the runtime reads no further), so that body is read whole in one step.
 * A chunked or encoded body (the runtime decodes gzip, whose declared length is the compressed one) is read as a
 * stream and counted.
 */
async function readCapped(response: Response, limit: number): Promise<string> {
  const header = response.headers.get("content-length");
  const declared = header === null ? NaN : Number(header);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {});
    throw new TooLarge();
  }
  if (!response.body) return "";
  if (Number.isFinite(declared) && !response.headers.has("content-encoding")) return response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

export function callHook(exchange: HookExchange): Promise<HookReply> {
  return withDeadlineSignal(exchange.timeoutMs, (deadline) => exchangeWithin(exchange, deadline));
}

/** The attempts and the answer's read, within `deadline`. */
async function exchangeWithin(exchange: HookExchange, deadline: AbortSignal): Promise<HookReply> {
  const started = Date.now();
  let attempts = 0;
  const done = (reply: Omit<Extract<HookReply, { ok: true }>, "attempts" | "ms"> | Omit<Extract<HookReply, { ok: false }>, "attempts" | "ms">): HookReply =>
    ({ ...reply, attempts, ms: Date.now() - started }) as HookReply;
  const timedOut = () => done({ ok: false, reason: "timeout", detail: `no whole answer within ${exchange.timeoutMs} ms` });

  for (;;) {
    attempts++;
    let response: Response;
    try {
      const headers = await signedHeaders(exchange.sign, exchange.messageId, exchange.body);
      response = await fetch(exchange.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "User-Agent": USER_AGENT, ...headers },
        body: exchange.body,
        redirect: "manual",
        signal: deadline,
      });
    } catch (error) {
      if (deadline.aborted) return timedOut();
      const detail = error instanceof Error ? error.message : String(error);
      if (attempts === 1 && Date.now() - started + MIN_RETRY_MS < exchange.timeoutMs) continue;
      return done({ ok: false, reason: "unreachable", detail });
    }
    const { status } = response;
    if (status < 200 || status >= 300) {
      await response.body?.cancel().catch(() => {});
      return status >= 300 && status < 400
        ? done({ ok: false, reason: "redirect", status, detail: `HTTP ${status}: redirects are not followed` })
        : done({ ok: false, reason: "status", status, detail: `HTTP ${status}` });
    }
    let text: string;
    try {
      text = status === 204 ? "" : await readCapped(response, MAX_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof TooLarge) return done({ ok: false, reason: "too_large", status, detail: `answer is over ${MAX_ANSWER_BYTES} bytes` });
      if (deadline.aborted) return timedOut();
      return done({ ok: false, reason: "unreachable", status, detail: error instanceof Error ? error.message : String(error) });
    }
    const parsed = parseHookAnswer(text);
    return parsed.ok ? done({ ok: true, status, answer: parsed.answer }) : done({ ok: false, reason: "invalid", status, detail: parsed.problem });
  }
}
