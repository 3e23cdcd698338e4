/**
 * POST /api/webhooks/twilio/outbound?reservation=<id>: the `Url` of a call placed by POST /api/calls, fetched
 * by Twilio when the callee answers (signature-checked like every Twilio route). The decision is in
 * outbound/answer.ts; this route reads Twilio's parameters, logs one line and answers TwiML.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { answerOutbound } from "../outbound/answer.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { maskPhone } from "../phone.ts";
import { param, readInboundCall } from "../twilio/params.ts";
import { TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

export const outbound = new Hono<AppEnv>();
outbound.use(twilioWebhook());
outbound.post("/", async (c) => {
  const started = Date.now();
  const params = c.var.twilioParams;
  const call = readInboundCall(params);
  if (!call) throw new AppError({ kind: "bad_request", message: "Missing CallSid, From or To" });
  const answeredBy = param(params, "AnsweredBy");
  const answer = await answerOutbound(c.env, call, c.req.query("reservation"), answeredBy, c.var.twilioUrl, started);
  log(answer.log.result === "connected" ? "info" : "warn", "twilio.outbound", {
    callSid: call.callSid,
    from: maskPhone(call.from),
    to: maskPhone(call.to),
    answeredBy,
    ...answer.log,
    totalMs: Date.now() - started,
  });
  return c.body(twimlDocument(answer.twiml), 200, TWIML_HEADERS);
});
