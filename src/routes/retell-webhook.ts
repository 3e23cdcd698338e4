/**
 * POST /api/webhooks/retell: Retell's call webhooks. The signature is checked over the raw body before anything
 * else; a missing or bad one is refused with 401. Answers 204 (Retell expects a 2xx and no body) as soon as the
 * event is stored: Retell waits 10 s and retries up to 3 times (https://docs.retellai.com/features/webhook), so a
 * D1 failure answers 503 to have it sent again, and every write is safe to repeat.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { recordRetellEvent } from "../calls/records.ts";
import { AppError, fromStorage } from "../errors.ts";
import { log } from "../log.ts";
import { isValidRetellSignature, readRetellEvent, RETELL_SIGNATURE_HEADER } from "../retell/events.ts";

/**
 * A call_analyzed body carries the whole call, transcripts with word timings included: a few MB for a long call.
 * Far below the Worker's 100 MB request limit; anything bigger is not Retell.
 */
export const MAX_RETELL_BODY_BYTES = 16 * 1024 * 1024;

export const retellWebhook = new Hono<AppEnv>();
retellWebhook.post(
  "/",
  bodyLimit({
    maxSize: MAX_RETELL_BODY_BYTES,
    onError: () => {
      throw new AppError({ kind: "too_large" });
    },
  }),
  async (c) => {
    const apiKey = c.env.RETELL_API_KEY;
    if (!apiKey) throw new AppError({ kind: "misconfigured", detail: "RETELL_API_KEY is not set: wrangler secret put RETELL_API_KEY" });
    const signature = c.req.header(RETELL_SIGNATURE_HEADER);
    // The exact bytes Retell signed: re-serialising parsed JSON would change them.
    const body = await c.req.text();
    if (!(await isValidRetellSignature(body, apiKey, signature))) {
      throw new AppError({ kind: "unauthorized", detail: `retell signature ${signature ? "mismatch or expired" : "missing"}` });
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      throw new AppError({ kind: "bad_request", message: "Body is not JSON" });
    }
    const read = readRetellEvent(payload);
    if (read.kind === "invalid") throw new AppError({ kind: "bad_request", message: "Not a Retell call event", detail: read.detail });
    if (read.kind === "ignored") {
      log("info", "retell.event_ignored", { retellEvent: read.event });
      return c.body(null, 204);
    }
    const { update } = read;
    const result = await fromStorage(() => recordRetellEvent(c.env.DB, update, Date.now()));
    // "unmatched": not a call this bridge answered (the account's webhook sees every call), or another registration of it.
    log("info", "retell.event", { retellEvent: update.event, retellCallId: update.callId, callSid: update.twilioCallSid, result });
    return c.body(null, 204);
  },
);
