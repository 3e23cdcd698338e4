/**
 * POST /api/webhooks/retell: Retell's call webhooks. A signature header that is missing, malformed or stale is
 * refused with 401 before the body is read, a body over MAX_RETELL_WEBHOOK_BODY_BYTES with 413, then the signature
 * is checked over the raw body before anything else (routes/retell-signed.ts). Answers 204 (Retell expects a 2xx
 * and no body) as soon as the event is stored in the call's line object, found through the line and CallSid the voice webhook put in the
 * call's metadata (calls/connect.ts). Retell waits 10 s and retries up to 3 times
 * (https://docs.retellai.com/features/webhook), so an object failing answers 503 to have it sent again, and every
 * write is safe to repeat. An event for a call no line knows (the account's webhook sees every call) is
 * acknowledged and logged, and nothing is stored. Retell's raw request also goes to the line where a call event
 * needs it (call.analyzed's `retell`, an endpoint taking Retell's own bodies: docs/events.md).
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { askLine, lineStub } from "../line/address.ts";
import { AppError, fromStorage } from "../errors.ts";
import { log } from "../log.ts";
import { readRetellEvent, retellEventCall } from "../retell/events.ts";
import { MAX_RETELL_WEBHOOK_BODY_BYTES, guardRetellRequest, signedRetellBody } from "./retell-signed.ts";
import { passesRetellEvents } from "../records/endpoint-store.ts";

export const retellWebhook = new Hono<AppEnv>();
retellWebhook.post("/", guardRetellRequest(MAX_RETELL_WEBHOOK_BODY_BYTES), async (c) => {
  const { payload, body, signature } = await signedRetellBody(c);
  const read = readRetellEvent(payload);
  if (read.kind === "invalid") throw new AppError({ kind: "bad_request", message: "Not a Retell call event", detail: read.detail });
  if (read.kind === "ignored") {
    // Kept on the call's line only to be passed through to an endpoint in Retell's format (docs/events.md).
    const call = retellEventCall(payload);
    const passed =
      call && (await passesRetellEvents(c.env.AGENTS))
        ? await fromStorage(() =>
            askLine(lineStub(c.env, call.line).passRetellEvent(call.twilioCallSid, { event: read.event, callId: call.callId, body, signature, passThrough: true }, Date.now()), "line retell event"),
          )
        : null;
    log("info", "retell.event_ignored", { retellEvent: read.event, ...(passed && { passedThrough: passed }) });
    return c.body(null, 204);
  }
  const { update } = read;
  const { line, twilioCallSid } = update;
  // The raw request goes to the line only where it is kept: call.analyzed's `retell`, or an endpoint in Retell's format.
  const passThrough = line && twilioCallSid ? await passesRetellEvents(c.env.AGENTS) : false;
  const raw = passThrough || update.event === "call_analyzed" ? { body, signature, passThrough } : undefined;
  const result =
    line && twilioCallSid
      ? await fromStorage(() => askLine(lineStub(c.env, line).recordRetellEvent(twilioCallSid, update, Date.now(), raw), "line retell event"))
      : "unknown_call";
  // "unknown_call": not a call this bridge answered; "other_registration": a registration of it that was never dialed.
  log("info", "retell.event", { retellEvent: update.event, retellCallId: update.callId, callSid: twilioCallSid, result });
  return c.body(null, 204);
});
