/**
 * POST /api/webhooks/twilio/voicemail?line=<line>: Twilio's recording status callback for a voicemail, and
 * POST /api/webhooks/twilio/voicemail-end?line=<line>: the `<Record action>`, which ends the call (src/voicemail/).
 * Twilio's recording callback carries no From or To: the call's line comes from the signed query the TwiML gave.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { AppError } from "../errors.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { EventResult } from "../line/call-updates.ts";
import { log } from "../log.ts";
import { param } from "../twilio/params.ts";
import { hangUp, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";
import { readRecording } from "../twilio/recording.ts";

/** A line as line/address.ts names them (the signed query's, so only ours can be here). */
const LINE = /^[^\s]{1,64}$/;

export const voicemail = new Hono<AppEnv>();
voicemail.use(twilioWebhook());
voicemail.post("/", async (c) => {
  const callSid = param(c.var.twilioParams, "CallSid") as string;
  const line = c.req.query("line");
  if (!line || !LINE.test(line)) throw new AppError({ kind: "bad_request", message: "Missing or malformed line" });
  const recording = readRecording(c.var.twilioParams, Date.now());
  if (!recording) throw new AppError({ kind: "bad_request", message: "Missing or malformed RecordingSid, RecordingUrl or RecordingStatus" });
  let result: EventResult | "line_unavailable";
  try {
    result = await askLine(lineStub(c.env, line).recordVoicemail(callSid, recording), "line voicemail");
  } catch (error) {
    // Twilio retries a callback answered with an error: the recording is not lost while the line is down.
    log("error", "line.unavailable", { callSid, step: "voicemail", detail: error instanceof Error ? error.message : String(error) });
    throw new AppError({ kind: "storage_unavailable", detail: "line unavailable" });
  }
  log("info", "twilio.voicemail", { callSid, recordingSid: recording.recordingSid, status: recording.status, durationS: recording.durationS, result });
  return c.body(null, 204);
});

export const voicemailEnd = new Hono<AppEnv>();
voicemailEnd.use(twilioWebhook());
voicemailEnd.post("/", (c) => c.body(twimlDocument(hangUp()), 200, TWIML_HEADERS));
