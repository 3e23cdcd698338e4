/**
 * POST /api/webhooks/twilio[/:agentId]: Twilio's voice webhook. Answers with the whole TwiML document once the
 * call's answer is decided; then, off the caller's path, writes the log line and stores the answer in its line's
 * object (calls/answer.ts `store`), which wakes any copy of the webhook waiting for it. Every copy of a webhook for
 * one CallSid answers with the same registration.
 *
 * One document, not a stream: Twilio's read timeout covers the first byte and every gap between packets alike,
 * and a partial answer is never retried (shared/reference/twilio-retell-protocols.md §3, Twilio's "connection
 * overrides"), so sending `<Response>` early buys the registration no time.
 *
 * `status` and `dial-complete` are Twilio routes of their own, mounted before this sub-app (app.ts), so those two
 * can never be agent ids here: `agent:status` and `agent:dial-complete` are reserved KV keys, as are
 * `agent:transfer-complete` and `agent:transfer-whisper` (transfers/dial.ts), `agent:hold` and
 * `agent:hold-complete` (hold/twiml.ts), `agent:voicemail` and `agent:voicemail-end` (voicemail/twiml.ts).
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.ts";
import { agentKey } from "../agents/lookup.ts";
import { answerCall, type CallAnswer } from "../calls/answer.ts";
import { dialActions } from "../calls/dial-complete.ts";
import { holdUrls } from "../hold/twiml.ts";
import { lineName } from "../line/address.ts";
import { voicemailUrls } from "../voicemail/twiml.ts";
import { outcomeTwiml } from "../calls/outcome.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { maskKey, maskPhone } from "../phone.ts";
import { readInboundCall } from "../twilio/params.ts";
import { TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

export const voice = new Hono<AppEnv>();
voice.use(twilioWebhook());
voice.post("/", (c) => answerVoice(c, undefined));
voice.post("/:agentId", (c) => answerVoice(c, c.req.param("agentId")));

async function answerVoice(c: Context<AppEnv>, agentId: string | undefined): Promise<Response> {
  const started = Date.now();
  const call = readInboundCall(c.var.twilioParams);
  if (!call) throw new AppError({ kind: "bad_request", message: "Missing CallSid, From or To" });
  const key = agentKey({ agentId, to: call.to });

  const answer: CallAnswer = await answerCall(c.env, call, key, started).catch((error: unknown) => ({
    outcome: { kind: "internal_error" },
    actionKey: key,
    log: { detail: error instanceof Error ? error.message : String(error) },
  }));
  const { outcome } = answer;
  // An after-hours agent's dials report to its own key, so a failed SIP leg reaches its fallback number. The
  // hold and voicemail URLs (and the line's name in them) are built only for the outcomes that use them.
  const actions = answer.actionKey === null
    ? undefined
    : {
        ...dialActions(c.var.twilioUrl, answer.actionKey),
        ...(outcome.kind === "queued" && { hold: holdUrls(c.var.twilioUrl, answer.actionKey, lineName(call.to)) }),
        ...(outcome.kind === "voicemail" && { voicemail: voicemailUrls(c.var.twilioUrl, lineName(call.to)) }),
      };
  const document = twimlDocument(outcomeTwiml(outcome, actions, answer.leg));

  c.executionCtx.waitUntil(
    (async () => {
      // One turn of the event loop first, so the document leaves before the log line and the line's round trip
      // (docs/performance.md, "Round trips"): neither is on the caller's path.
      await scheduler.wait(0);
      const stored = answer.store?.();
      log(outcome.kind === "connected" ? "info" : "warn", "twilio.voice", {
        callSid: call.callSid,
        from: maskPhone(call.from),
        to: maskPhone(call.to),
        agentKey: maskKey(key),
        retellAgentId: answer.retellAgentId,
        outcome: outcome.kind,
        ...("reason" in outcome && { reason: outcome.reason }),
        ...("retellCallId" in outcome && { retellCallId: outcome.retellCallId }),
        ...answer.log,
        ...(call.dryRun && { dryRun: true }),
        totalMs: Date.now() - started,
      });
      // Copies waiting on the claim are woken by it a few ms later, with the same answer.
      await stored;
    })(),
  );
  return c.body(document, 200, TWIML_HEADERS);
}
