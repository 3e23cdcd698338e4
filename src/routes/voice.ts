/**
 * POST /api/webhooks/twilio[/:agentId]: Twilio's voice webhook. Finds the agent, then streams the TwiML answer:
 * the headers and `<Response>` leave at once, and the document is finished when Retell has answered. The call's
 * record is written after the answer, in waitUntil. A CallSid already registered is answered with the same SIP
 * TwiML and nothing new is registered (calls/replay.ts).
 *
 * `status` and `dial-complete` are Twilio routes of their own, mounted before this sub-app (app.ts), so those two
 * can never be agent ids here: `agent:status` and `agent:dial-complete` are reserved KV keys.
 */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.ts";
import { agentKey } from "../agents/lookup.ts";
import { connectCall } from "../calls/connect.ts";
import { dialActions } from "../calls/dial-complete.ts";
import { outcomeTwiml, retellSipUri, type VoiceOutcome } from "../calls/outcome.ts";
import { recordVoiceOutcome, writeOrLog, type VoiceRecord } from "../calls/records.ts";
import { priorRegistration } from "../calls/replay.ts";
import { retellBaseUrl, retellSipHost, retellTimeoutMs } from "../config.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { maskKey, maskPhone } from "../phone.ts";
import { routeCall } from "../rules/route-call.ts";
import { readInboundCall, type InboundCall } from "../twilio/params.ts";
import { RESPONSE_CLOSE, RESPONSE_OPEN, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "../twilio/webhook.ts";


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
    agentKey: maskKey(entry.key),
    retellAgentId: entry.retellAgentId,
    outcome: outcome.kind,
    ...("reason" in outcome && { reason: outcome.reason }),
    ...("retellCallId" in outcome && { retellCallId: outcome.retellCallId }),
    ...extra,
    ...(entry.call.dryRun && { dryRun: true }),
    totalMs: Date.now() - entry.started,
  });
}

/** The record's fields for an outcome; the write itself runs in waitUntil, after the answer. */
function voiceRecord(entry: CallLog, outcome: VoiceOutcome, registration?: { ms: number; attempts: number }): VoiceRecord {
  return {
    callSid: entry.call.callSid,
    accountSid: entry.call.accountSid,
    agentKey: entry.key,
    retellAgentId: entry.retellAgentId,
    from: entry.call.from,
    to: entry.call.to,
    outcome: outcome.kind,
    outcomeReason: "reason" in outcome ? outcome.reason : undefined,
    retellCallId: outcome.kind === "connected" ? outcome.retellCallId : undefined,
    registerMs: registration?.ms,
    registerAttempts: registration?.attempts,
    receivedAt: entry.started,
    answeredAt: Date.now(),
  };
}

async function answerCall(c: Context<AppEnv>, agentId: string | undefined): Promise<Response> {
  const started = Date.now();
  const call = readInboundCall(c.var.twilioParams);
  if (!call) throw new AppError({ kind: "bad_request", message: "Missing CallSid, From or To" });

  const key = agentKey({ agentId, to: call.to });
  // Side by side, so the replay check adds no round trip to a first-time call. A dry run registers nothing anyway.
  // routeCall also applies the routing rules (rules/decide.ts): blocked callers, rate limits, opening hours.
  const [routing, priorCallId] = await Promise.all([
    routeCall(c.env, key, call, started),
    call.dryRun ? null : priorRegistration(c.env.DB, call.callSid),
  ]);
  const { lookup } = routing;
  // An after-hours agent's dials report to its own key, so a failed SIP leg reaches its fallback number.
  const actionKey = routing.kind === "connect" ? routing.key : key;
  const actions = actionKey === null ? undefined : dialActions(c.var.twilioUrl, actionKey);
  // Dry runs (npm run doctor) are not calls: nothing is recorded for them.
  const save = async (record: VoiceRecord) => {
    if (!call.dryRun) await writeOrLog("voice", call.callSid, () => recordVoiceOutcome(c.env.DB, record));
  };

  if (priorCallId !== null) {
    const outcome: VoiceOutcome = { kind: "connected", retellCallId: priorCallId, sipUri: retellSipUri(priorCallId, retellSipHost(c.env)) };
    logOutcome({ started, call, key, retellAgentId: lookup.ok ? lookup.agent.retellAgentId : undefined }, outcome, { replay: true });
    return c.body(twimlDocument(outcomeTwiml(outcome, actions)), 200, TWIML_HEADERS);
  }

  if (routing.kind === "answer") {
    const { outcome, detail } = routing;
    const entry: CallLog = { started, call, key, ...(lookup.ok && { retellAgentId: lookup.agent.retellAgentId }) };
    logOutcome(entry, outcome, detail === undefined ? {} : { detail });
    c.executionCtx.waitUntil(save(voiceRecord(entry, outcome)));
    return c.body(twimlDocument(outcomeTwiml(outcome, actions)), 200, TWIML_HEADERS);
  }

  const { agent } = routing;
  // The Workers-native byte stream: no JS transform step between our writes and the response.
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  // Not awaited: the write completes when Twilio reads it, after this handler has returned the stream.
  void writer.write(encoder.encode(RESPONSE_OPEN)).catch(() => {});

  const finish = (async () => {
    const entry: CallLog = { started, call, key, retellAgentId: agent.retellAgentId };
    let outcome: VoiceOutcome;
    let registration: { ms: number; attempts: number } | undefined;
    let extra: Record<string, unknown> = {};
    try {
      const retell = { baseUrl: retellBaseUrl(c.env), apiKey: c.env.RETELL_API_KEY, timeoutMs: retellTimeoutMs(c.env) };
      if (!retell.apiKey) {
        log("error", "config.missing_secret", { secret: "RETELL_API_KEY", fix: "wrangler secret put RETELL_API_KEY" });
      }
      const result = await connectCall(retell, retellSipHost(c.env), call, agent);
      // A call the after-hours agent took is connected for that reason (stats count it as after hours).
      outcome = result.outcome.kind === "connected" && routing.reason ? { ...result.outcome, reason: routing.reason } : result.outcome;
      registration = result.registration;
      extra = {
        retellMs: result.registration.ms,
        retellAttempts: result.registration.attempts,
        ...(!result.registration.ok && { retellStatus: result.registration.status, detail: result.registration.detail }),
      };
    } catch (error) {
      outcome = { kind: "internal_error" };
      extra = { detail: error instanceof Error ? error.message : String(error) };
    }
    logOutcome(entry, outcome, extra);
    try {
      await writer.write(encoder.encode(outcomeTwiml(outcome, actions) + RESPONSE_CLOSE));
      await writer.close();
    } catch {
      log("warn", "twilio.voice_disconnected", { callSid: call.callSid, outcome: outcome.kind });
    }
    // After the answer is complete, so the record never holds it up. The yield lets the runtime flush the
    // document's last bytes first: measured locally, starting the D1 write at once delayed them by ~2.5 ms.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await save(voiceRecord(entry, outcome, registration));
  })();
  c.executionCtx.waitUntil(finish);
  return new Response(readable, { status: 200, headers: TWIML_HEADERS });
}
