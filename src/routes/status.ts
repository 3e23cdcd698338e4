/**
 * POST /api/webhooks/twilio/status: Twilio's call status callbacks, signature-checked like the voice webhook.
 * Answers 204 once the status is stored (Twilio wants any 2xx, https://www.twilio.com/docs/api/errors/11750);
 * a D1 failure answers 503, which Twilio's debugger shows to the operator.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { recordTwilioStatus } from "../calls/records.ts";
import { readStatusCallback } from "../calls/status.ts";
import { AppError, fromStorage } from "../errors.ts";
import { log } from "../log.ts";
import { maskPhone } from "../phone.ts";
import { twilioWebhook } from "../twilio/webhook.ts";

export const status = new Hono<AppEnv>();
status.use(twilioWebhook());
status.post("/", async (c) => {
  const read = readStatusCallback(c.var.twilioParams);
  if (!read.ok) throw new AppError({ kind: "bad_request", message: "CallSid and a valid CallStatus are required", detail: read.detail });
  const { update } = read;
  const applied = await fromStorage(() => recordTwilioStatus(c.env.DB, update, Date.now()));
  log("info", "twilio.status", {
    callSid: update.callSid,
    status: update.status,
    sequence: update.sequence,
    durationS: update.durationS,
    from: maskPhone(update.from),
    // A callback older than the stored status is kept out of the record, not an error.
    applied,
  });
  return c.body(null, 204);
});
