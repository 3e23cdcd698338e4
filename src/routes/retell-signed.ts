/**
 * The one way a Retell request is read. Before any byte of the body: RETELL_API_KEY set (500), `x-retell-signature`
 * shaped as retell-sdk signs it with a timestamp within 5 minutes (401), the body within the route's cap (413, by
 * `Content-Length`, else while streaming). Then the signature checked over the raw bytes (401 when wrong), then
 * the body parsed as JSON (400 when it is not). Used by Retell's webhooks and by the custom functions, which
 * Retell signs the same way.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { AppError } from "../errors.ts";
import { isValidRetellSignature, RETELL_SIGNATURE_HEADER, retellSignatureCurrent } from "../retell/events.ts";

/**
 * Retell's webhook body (call_analyzed the largest) carries the whole call: transcript, transcript_object with each
 * word's timings, and the tool-call transcripts, scrubbed and not. Retell's longest call is 2 hours (an agent's
 * max_call_duration_ms is at most 7,200,000; retell-sdk AgentResponse): at a fast 200 words a minute, 24,000
 * words, about 50 bytes each with timings in transcript_object and about 10 in each of the four text copies:
 * some 2.2 MB, so 8 MiB leaves more than three times that.
 */
export const MAX_RETELL_WEBHOOK_BODY_BYTES = 8 * 1024 * 1024;
/** A custom function's body: the call so far and the model's arguments; a transfer's arguments are a name and a sentence. */
export const MAX_TRANSFER_BODY_BYTES = 1024 * 1024;

/** The checks that need no body, then the body's cap (hono's bodyLimit: 413 without reading the rest). */
export function guardRetellRequest(maxSize: number): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      throw new AppError({ kind: "too_large" });
    },
  });
  return async (c, next) => {
    if (!c.env.RETELL_API_KEY) throw new AppError({ kind: "misconfigured", detail: "RETELL_API_KEY is not set: wrangler secret put RETELL_API_KEY" });
    const signature = c.req.header(RETELL_SIGNATURE_HEADER);
    if (!retellSignatureCurrent(signature, Date.now())) {
      throw new AppError({ kind: "unauthorized", detail: `retell signature ${signature ? "malformed or expired" : "missing"}, body not read` });
    }
    return limit(c, next);
  };
}

export async function signedRetellJson(c: Context<AppEnv>): Promise<unknown> {
  return (await signedRetellBody(c)).payload;
}

/** The same, with the exact body and signature Retell sent (kept byte for byte for the Retell pass-through, docs/events.md). */
export async function signedRetellBody(c: Context<AppEnv>): Promise<{ payload: unknown; body: string; signature: string }> {
  const apiKey = c.env.RETELL_API_KEY;
  if (!apiKey) throw new AppError({ kind: "misconfigured", detail: "RETELL_API_KEY is not set: wrangler secret put RETELL_API_KEY" });
  const signature = c.req.header(RETELL_SIGNATURE_HEADER);
  // The exact bytes Retell signed: re-serialising parsed JSON would change them.
  const body = await c.req.text();
  if (!(await isValidRetellSignature(body, apiKey, signature))) {
    throw new AppError({ kind: "unauthorized", detail: `retell signature ${signature ? "mismatch or expired" : "missing"}` });
  }
  try {
    return { payload: JSON.parse(body) as unknown, body, signature: signature as string };
  } catch {
    throw new AppError({ kind: "bad_request", message: "Body is not JSON" });
  }
}
