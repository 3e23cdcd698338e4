/**
 * POST /api/webhooks/twilio/transfer-whisper?line=<line>&whisper=<id>: the `<Number url>` / `<Sip url>` of a
 * transfer (a whisper): Twilio requests it once the person answers, and they hear the announcement, behind
 * ANNOUNCE_PREFIX, before the caller is connected. Twilio-signed like every Twilio route; the announcement itself
 * stays on the line (line/whispers.ts), found by the opaque id, for the call named by Twilio's ParentCallSid.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { askLine, lineStub } from "../line/address.ts";
import { log } from "../log.ts";
import { ANNOUNCE_PREFIX, WHISPER_ID_PARAM, WHISPER_LINE_PARAM } from "../transfers/dial.ts";
import { param } from "../twilio/params.ts";
import { say, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

export const transferWhisper = new Hono<AppEnv>();
transferWhisper.use(twilioWebhook());
transferWhisper.post("/", async (c) => {
  const line = c.req.query(WHISPER_LINE_PARAM);
  const id = c.req.query(WHISPER_ID_PARAM);
  let sentence: string | null = null;
  if (line && id) {
    try {
      sentence = await askLine<string | null>(lineStub(c.env, line).whisper(id, param(c.var.twilioParams, "ParentCallSid")), "line whisper");
    } catch (error) {
      log("error", "line.unavailable", { step: "whisper", detail: error instanceof Error ? error.message : String(error) });
    }
  }
  // Nothing to say: the person is connected at once (an empty document ends the whisper, not the call).
  return c.body(twimlDocument(sentence ? say(`${ANNOUNCE_PREFIX} ${sentence}`) : ""), 200, TWIML_HEADERS);
});
