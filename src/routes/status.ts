/**
 * POST /api/webhooks/twilio/status: Twilio's call status callbacks, signature-checked like the voice webhook.
 * Answers 204 once the status is stored in the call's line object (Twilio wants any 2xx,
 * https://www.twilio.com/docs/api/errors/11750); the object copies it to D1 later, so a D1 outage is no
 * concern here. The object failing answers 503, which Twilio's debugger shows to the operator. An inbound call the
 * line has no record of is recorded as missed (calls/missed.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { missedAgent } from "../calls/missed.ts";
import { readStatusCallback } from "../twilio/call-status.ts";
import { AppError, fromStorage } from "../errors.ts";
import { askLine, lineOfTwilioCall, lineStub } from "../line/address.ts";
import type { EventResult } from "../line/call-updates.ts";
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
  const receivedAt = Date.now();
  const stub = lineStub(c.env, line);
  // An inbound call the line has no record of reached the number while the bridge did not answer: recorded as
  // missed, under the number's agent, which is read first so the line decides in the same call (calls/missed.ts).
  const inbound = reservation === undefined && param(params, "Direction") === "inbound";
  const result: EventResult | "missed" = await fromStorage(async () =>
    inbound
      ? askLine(stub.recordInboundStatus(update, receivedAt, await missedAgent(c.env, update)), "line status")
      : askLine(stub.recordStatus(update, receivedAt, reservation), "line status"),
  );
  log("info", "twilio.status", {
    callSid: update.callSid,
    status: update.status,
    sequence: update.sequence,
    durationS: update.durationS,
    from: maskPhone(update.from),
    // "stale": older than the stored status, kept out of the record; "missed": a new record of a call the bridge
    // never answered; "unknown_call": a call this bridge answered or placed and has forgotten, kept out.
    result,
  });
  return c.body(null, 204);
});
