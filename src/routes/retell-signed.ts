/**
 * The one way a Retell request is read: its body at most MAX_RETELL_BODY_BYTES, `x-retell-signature` checked over
 * the raw bytes before anything else (401 when missing or wrong), then parsed as JSON (400 when it is not).
 * Used by Retell's webhooks and by the custom functions, which Retell signs the same way.
 */
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { AppError } from "../errors.ts";
import { isValidRetellSignature, RETELL_SIGNATURE_HEADER } from "../retell/events.ts";

/**
 * A call_analyzed body carries the whole call, transcripts with word timings included: a few MB for a long call
 * (a custom function's body carries the transcript so far). Far below the Worker's 100 MB request limit.
 */
export const MAX_RETELL_BODY_BYTES = 16 * 1024 * 1024;

export const retellBodyLimit = () =>
  bodyLimit({
    maxSize: MAX_RETELL_BODY_BYTES,
    onError: () => {
      throw new AppError({ kind: "too_large" });
    },
  });

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
