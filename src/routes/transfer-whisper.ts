/**
 * POST /api/webhooks/twilio/transfer-whisper?say=<sentence>: the `<Number url>` / `<Sip url>` of a transfer (a
 * whisper): Twilio requests it once the person answers, and they hear the sentence before the caller is connected.
 * Twilio-signed like every Twilio route; the sentence is the signed query, which only our own TwiML names.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { MAX_ANNOUNCE_CHARS, WHISPER_PARAM } from "../transfers/dial.ts";
import { say, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "../twilio/webhook.ts";

export const transferWhisper = new Hono<AppEnv>();
transferWhisper.use(twilioWebhook());
transferWhisper.post("/", (c) => {
  const sentence = c.req.query(WHISPER_PARAM)?.trim().slice(0, MAX_ANNOUNCE_CHARS) ?? "";
  // Nothing to say: the person is connected at once (an empty document ends the whisper, not the call).
  return c.body(twimlDocument(sentence ? say(sentence) : ""), 200, TWIML_HEADERS);
});
