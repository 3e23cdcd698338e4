/**
 * POST /api/webhooks/twilio/transfer-complete?attempt=<n>: the `<Dial action>` of a transfer to a person
 * (transfers/complete.ts). Twilio-signed; the attempt number is in the signed query, the call's agent on its
 * line. A line that fails leaves the caller with the apology, never silence.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { APOLOGY_MESSAGE } from "../calls/outcome.ts";
import { AppError } from "../errors.ts";
import { lineOfTwilioCall } from "../line/address.ts";
import { log } from "../log.ts";
import { param } from "../twilio/params.ts";
import { afterTransferDial, readTransferDial, type TransferNext } from "../transfers/complete.ts";
import { sayAndHangUp, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

export const transferComplete = new Hono<AppEnv>();
transferComplete.use(twilioWebhook());
transferComplete.post("/", async (c) => {
  const report = readTransferDial(c.var.twilioParams, c.req.query("attempt"));
  if (!report) throw new AppError({ kind: "bad_request", message: "Missing CallSid or attempt" });
  const line = lineOfTwilioCall({ direction: param(c.var.twilioParams, "Direction"), from: report.from, to: report.to });
  let next: TransferNext;
  try {
    if (!line) throw new Error("no line in the request");
    next = await afterTransferDial(c.env, line, report, c.var.twilioUrl);
  } catch (error) {
    next = { twiml: twimlDocument(sayAndHangUp(APOLOGY_MESSAGE)), log: { next: "apology", detail: error instanceof Error ? error.message : String(error) } };
  }
  log(next.log.next === "answered" ? "info" : "warn", "twilio.transfer_complete", {
    callSid: report.callSid,
    attempt: report.index,
    dialStatus: report.status,
    durationS: report.durationS,
    ...next.log,
  });
  return c.body(next.twiml, 200, TWIML_HEADERS);
});
