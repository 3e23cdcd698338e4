/**
 * POST /api/webhooks/twilio[/:agentId]: Twilio's voice webhook. Finds the agent, then streams the TwiML answer:
 * the headers and `<Response>` leave at once, and the document is finished when Retell has answered.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.ts";
import { agentKey, lookupAgent } from "../agents/lookup.ts";
import { connectCall } from "../calls/connect.ts";
import { outcomeTwiml, type VoiceOutcome } from "../calls/outcome.ts";
import { retellBaseUrl, retellSipHost, retellTimeoutMs } from "../config.ts";
import { log } from "../log.ts";
import { maskPhone } from "../phone.ts";
import { readInboundCall, type InboundCall } from "../twilio/params.ts";
import { RESPONSE_CLOSE, RESPONSE_OPEN, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "../twilio/webhook.ts";
import { HTTPException } from "hono/http-exception";

/**
 * `Content-Encoding: identity` keeps workerd from gzip-compressing the answer for Twilio (which sends
 * Accept-Encoding: gzip): its compressor would hold back the streamed `<Response>` until the end.
 */
export const TWIML_HEADERS = {
  "Content-Type": "text/xml; charset=utf-8",
  "Content-Encoding": "identity",
  "Cache-Control": "no-store",
} as const;

const encoder = new TextEncoder();

export const voice = new Hono<AppEnv>();
voice.use(twilioWebhook());
voice.post("/", (c) => answerCall(c, undefined));
voice.post("/:agentId", (c) => answerCall(c, c.req.param("agentId")));

interface CallLog {
  started: number;
  call: InboundCall;
  key: string | null;
  retellAgentId?: string;
}

function logOutcome(entry: CallLog, outcome: VoiceOutcome, extra: Record<string, unknown> = {}): void {
  const failed = outcome.kind !== "connected";
  log(failed ? "warn" : "info", "twilio.voice", {
    callSid: entry.call.callSid,
    from: maskPhone(entry.call.from),
    to: maskPhone(entry.call.to),
    agentKey: entry.key?.startsWith("+") ? maskPhone(entry.key) : entry.key,
    retellAgentId: entry.retellAgentId,
    outcome: outcome.kind,
    ...("reason" in outcome && { reason: outcome.reason }),
    ...("retellCallId" in outcome && { retellCallId: outcome.retellCallId }),
    ...extra,
    ...(entry.call.dryRun && { dryRun: true }),
    totalMs: Date.now() - entry.started,
  });
}

async function answerCall(c: Context<AppEnv>, agentId: string | undefined): Promise<Response> {
  const started = Date.now();
  const call = readInboundCall(c.var.twilioParams);
  if (!call) throw new HTTPException(400, { message: "Missing CallSid, From or To" });

  const key = agentKey({ agentId, to: call.to });
  const lookup = await lookupAgent(c.env.AGENTS, key);
  if (!lookup.ok) {
    const outcome: VoiceOutcome = { kind: lookup.reason };
    logOutcome({ started, call, key }, outcome, { detail: lookup.detail });
    return c.body(twimlDocument(outcomeTwiml(outcome)), 200, TWIML_HEADERS);
  }

  const { agent } = lookup;
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  // Not awaited: the write completes when Twilio reads it, after this handler has returned the stream.
  void writer.write(encoder.encode(RESPONSE_OPEN)).catch(() => {});

  const finish = (async () => {
    const entry: CallLog = { started, call, key, retellAgentId: agent.retellAgentId };
    let outcome: VoiceOutcome;
    let extra: Record<string, unknown> = {};
    try {
      const retell = { baseUrl: retellBaseUrl(c.env), apiKey: c.env.RETELL_API_KEY, timeoutMs: retellTimeoutMs(c.env) };
      if (!retell.apiKey) {
        log("error", "config.missing_secret", { secret: "RETELL_API_KEY", fix: "wrangler secret put RETELL_API_KEY" });
      }
      const result = await connectCall(retell, retellSipHost(c.env), call, agent);
      outcome = result.outcome;
      const { registration } = result;
      extra = {
        retellMs: registration.ms,
        retellAttempts: registration.attempts,
        ...(!registration.ok && { retellStatus: registration.status, detail: registration.detail }),
      };
    } catch (error) {
      outcome = { kind: "internal_error" };
      extra = { detail: error instanceof Error ? error.message : String(error) };
    }
    logOutcome(entry, outcome, extra);
    try {
      await writer.write(encoder.encode(outcomeTwiml(outcome) + RESPONSE_CLOSE));
      await writer.close();
    } catch {
      log("warn", "twilio.voice_disconnected", { callSid: call.callSid, outcome: outcome.kind });
    }
  })();
  c.executionCtx.waitUntil(finish);
  return new Response(readable, { status: 200, headers: TWIML_HEADERS });
}
