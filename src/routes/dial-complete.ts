/**
 * POST /api/webhooks/twilio/dial-complete?agent=<KV key>&leg=retell|fallback: the `<Dial action>` callback.
 * The dial's result is stored in the call's line object, then the TwiML answer goes. The fallback number comes only
 * from the agent's KV config, found by the signed `agent` query, never from the request's form fields: a
 * number taken from input would let anyone holding a signed request dial anywhere at our cost (toll fraud).
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { classifyDial, dialActions, nextAfterDial, readDialReport, type DialNext } from "../calls/dial-complete.ts";
import { allowedFallback } from "../calls/fallback-guard.ts";
import { APOLOGY_MESSAGE } from "../calls/outcome.ts";
import { askLine, lineOfTwilioCall, lineStub } from "../line/address.ts";
import type { DialRecord } from "../line/transitions.ts";
import { AppError } from "../errors.ts";
import { log } from "../log.ts";
import { maskKey } from "../phone.ts";
import { param } from "../twilio/params.ts";
import { dialNumber, sayAndHangUp, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";
import { interruptedDialTwiml } from "../transfers/interrupted.ts";
import type { Voicemail } from "../line/voice-outcome.ts";
import { voicemailTwiml, voicemailUrls } from "../voicemail/twiml.ts";

export const dialComplete = new Hono<AppEnv>();
dialComplete.use(twilioWebhook());
dialComplete.post("/", async (c) => {
  const report = readDialReport(c.var.twilioParams, { agent: c.req.query("agent"), leg: c.req.query("leg") });
  if (!report) throw new AppError({ kind: "bad_request", message: "Missing CallSid" });
  const result = classifyDial(report);

  let fallbackNumber: string | undefined;
  let voicemail: Voicemail | undefined;
  let lookupDetail: string | undefined;
  if (result.failed) {
    const lookup = await lookupAgent(c.env.AGENTS, report.agentKey);
    if (lookup.ok) ({ fallbackNumber, voicemail } = lookup.agent);
    else lookupDetail = `${lookup.reason}: ${lookup.detail}`;
    // Only a failed AI leg goes to the fallback; one of the bridge's own numbers would loop (calls/fallback-guard.ts).
    if (report.leg === "retell") fallbackNumber = await allowedFallback(c.env.AGENTS, fallbackNumber, { callSid: report.callSid });
  }
  const next: DialNext = nextAfterDial(report.leg, result, fallbackNumber, voicemail);

  const record: DialRecord = { report, endedAt: Date.now() };
  if (result.failed && report.leg === "retell") {
    record.failure = { outcome: next.kind === "fallback" ? "fallback_dialed" : next.kind === "voicemail" ? "voicemail" : "sip_failed", reason: result.reason };
  }
  // A live caller waits on this answer: a line that fails is logged and the call goes on without the record.
  const line = lineOfTwilioCall({ direction: param(c.var.twilioParams, "Direction"), from: report.from, to: report.to });
  let recorded: string;
  try {
    recorded = line ? await askLine(lineStub(c.env, line).recordDial(record), "line dial") : "unknown_call";
  } catch (error) {
    recorded = "line_unavailable";
    log("error", "line.unavailable", { callSid: report.callSid, step: "dial", detail: error instanceof Error ? error.message : String(error) });
  }

  log(result.failed ? "warn" : "info", "twilio.dial_complete", {
    callSid: report.callSid,
    leg: report.leg,
    agentKey: maskKey(report.agentKey),
    dialStatus: report.status,
    sipCode: report.sipCode,
    durationS: report.durationS,
    next: recorded === "transferring" ? "transferring" : next.kind,
    recorded,
    ...(result.failed && { reason: result.reason }),
    ...(lookupDetail && { detail: lookupDetail }),
  });

  // A transfer redirected the call: this is the interrupted AI leg's report, which must not end the call.
  if (recorded === "transferring" && line) {
    const twiml = await interruptedDialTwiml(c.env, line, report.callSid, c.var.twilioUrl).catch(() => null);
    if (twiml) return c.body(twiml, 200, TWIML_HEADERS);
  }
  let body = "";
  if (next.kind === "fallback") {
    // The fallback leg gets its own action: its result is recorded, and a failure there ends in an apology, never another dial.
    const actions = report.agentKey === null ? undefined : dialActions(c.var.twilioUrl, report.agentKey);
    body = dialNumber(next.number, actions && { action: actions.fallback });
  } else if (next.kind === "voicemail") {
    body = line ? voicemailTwiml(next.voicemail, voicemailUrls(c.var.twilioUrl, line)) : sayAndHangUp(APOLOGY_MESSAGE);
  } else if (next.kind === "apology") {
    body = sayAndHangUp(APOLOGY_MESSAGE);
  }
  // An empty <Response/> ends the call: nothing follows an actioned <Dial>.
  return c.body(twimlDocument(body), 200, TWIML_HEADERS);
});
