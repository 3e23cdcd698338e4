/**
 * POST /api/webhooks/twilio[/:agentId]: Twilio's voice webhook. Streams the TwiML answer: the headers and
 * `<Response>` leave at once, the document is finished once the call's answer is decided, and the answer is then
 * stored in its line's object (calls/answer.ts `store`), which wakes any copy of the webhook waiting for it. Every copy of a
 * webhook for one CallSid answers with the same registration.
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
import { RESPONSE_CLOSE, RESPONSE_OPEN, TWIML_HEADERS } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

const encoder = new TextEncoder();

export const voice = new Hono<AppEnv>();
voice.use(twilioWebhook());
voice.post("/", (c) => streamAnswer(c, undefined));
voice.post("/:agentId", (c) => streamAnswer(c, c.req.param("agentId")));

function streamAnswer(c: Context<AppEnv>, agentId: string | undefined): Response {
  const started = Date.now();
  const call = readInboundCall(c.var.twilioParams);
  if (!call) throw new AppError({ kind: "bad_request", message: "Missing CallSid, From or To" });
  const key = agentKey({ agentId, to: call.to });

  // The Workers-native byte stream: no JS transform step between our writes and the response.
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  // Not awaited: the write completes when Twilio reads it, after this handler has returned the stream.
  void writer.write(encoder.encode(RESPONSE_OPEN)).catch(() => {});

  const finish = (async () => {
    const answer: CallAnswer = await answerCall(c.env, call, key, started).catch((error: unknown) => ({
      outcome: { kind: "internal_error" },
      actionKey: key,
      log: { detail: error instanceof Error ? error.message : String(error) },
    }));
    const { outcome } = answer;
    // An after-hours agent's dials report to its own key, so a failed SIP leg reaches its fallback number. The
    // hold and voicemail URLs are built only for the outcomes that use them.
    const line = lineName(call.to);
    const actions = answer.actionKey === null
      ? undefined
      : {
          ...dialActions(c.var.twilioUrl, answer.actionKey),
          ...(outcome.kind === "queued" && { hold: holdUrls(c.var.twilioUrl, answer.actionKey, line) }),
          ...(outcome.kind === "voicemail" && { voicemail: voicemailUrls(c.var.twilioUrl, line) }),
        };
    try {
      await writer.write(encoder.encode(outcomeTwiml(outcome, actions, answer.leg) + RESPONSE_CLOSE));
      await writer.close();
    } catch {
      log("warn", "twilio.voice_disconnected", { callSid: call.callSid, outcome: outcome.kind });
    }
    // The log line and the answer's storage follow the document: neither is on the caller's path.
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
    // The line's round trip off the caller's path (docs/performance.md, "Round trips"): copies waiting on the
    // claim are woken by it a few ms later, with the same answer.
    await answer.store?.();
  })();
  c.executionCtx.waitUntil(finish);
  return new Response(readable, { status: 200, headers: TWIML_HEADERS });
}
