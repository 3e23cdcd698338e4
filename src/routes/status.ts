/**
 * POST /api/webhooks/twilio/status: Twilio's call status callbacks, signature-checked like the voice webhook.
 * Answers 204 once the status is stored in the call's line object (Twilio wants any 2xx,
 * https://www.twilio.com/docs/api/errors/11750); the object copies it to D1 later, so a D1 outage is no
 * concern here. The object failing answers 503, which Twilio's debugger shows to the operator.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { readStatusCallback } from "../twilio/call-status.ts";
import { AppError, fromStorage } from "../errors.ts";
import { askLine, lineOfTwilioCall, lineStub } from "../line/address.ts";
import { log } from "../log.ts";
import { maskPhone } from "../phone.ts";
import { param } from "../twilio/params.ts";
import { twilioWebhook } from "./twilio-signed.ts";

export const status = new Hono<AppEnv>();
status.use(twilioWebhook());
status.post("/", async (c) => {
  const params = c.var.twilioParams;
  const read = readStatusCallback(params);
  if (!read.ok) throw new AppError({ kind: "bad_request", message: "CallSid and a valid CallStatus are required", detail: read.detail });
  const { update } = read;
  const line = lineOfTwilioCall({ direction: param(params, "Direction"), from: update.from, to: update.to });
  if (!line) throw new AppError({ kind: "bad_request", message: "From and To are required" });
  // An outbound call's StatusCallback names its reservation (outbound/place.ts): a callback may beat the CallSid there.
  const reservation = c.req.query("reservation");
  const result = await fromStorage(() => askLine(lineStub(c.env, line).recordStatus(update, Date.now(), reservation), "line status"));
  log("info", "twilio.status", {
    callSid: update.callSid,
    status: update.status,
    sequence: update.sequence,
    durationS: update.durationS,
    from: maskPhone(update.from),
    // "stale": older than the stored status, kept out of the record; "unknown_call": not a call this bridge answered.
    result,
  });
  return c.body(null, 204);
});
