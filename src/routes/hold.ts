/**
 * POST /api/webhooks/twilio/hold?agent=<KV key>&line=<line> (the `<Enqueue waitUrl>`) and
 * POST /api/webhooks/twilio/hold-complete?agent=…&line=… (the `<Enqueue action>`): a caller held while the line or
 * Retell is at capacity (src/hold/). Both signed like every Twilio webhook; the line and the agent come only from
 * the signed query, so a forged request can neither reach another line nor dial anything not configured.
 */
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { dialActions, readAgentKey } from "../calls/dial-complete.ts";
import { outcomeTwiml } from "../calls/outcome.ts";
import { AppError } from "../errors.ts";
import { answerFromHold, holdTurnTwiml } from "../hold/leave.ts";
import { holdUrls } from "../hold/twiml.ts";
import { voicemailUrls } from "../voicemail/twiml.ts";
import { log } from "../log.ts";
import { maskKey } from "../phone.ts";
import { param, readInboundCall } from "../twilio/params.ts";
import { hangUp, TWIML_HEADERS, twimlDocument } from "../twilio/twiml.ts";
import { twilioWebhook } from "./twilio-signed.ts";

/** A line as line/address.ts names them: an E.164 number, or what Twilio sent when the number is not one. */
const LINE = /^[^\s]{1,64}$/;

function readLine(value: string | undefined): string {
  if (!value || !LINE.test(value)) throw new AppError({ kind: "bad_request", message: "Missing or malformed line" });
  return value;
}

export const hold = new Hono<AppEnv>();
hold.use(twilioWebhook());
hold.post("/", async (c) => {
  const callSid = param(c.var.twilioParams, "CallSid") as string;
  const line = readLine(c.req.query("line"));
  const agentKey = readAgentKey(c.req.query("agent"));
  const { twiml, turn } = await holdTurnTwiml(c.env, callSid, line, agentKey);
  log("info", "twilio.hold_turn", { callSid, agentKey: maskKey(agentKey), turn: turn?.kind ?? "line_unavailable", ...(turn && "state" in turn && { state: turn.state }), ...(turn?.kind === "wait" && { position: turn.position }), queueTime: param(c.var.twilioParams, "QueueTime") });
  return c.body(twimlDocument(twiml), 200, TWIML_HEADERS);
});

export const holdComplete = new Hono<AppEnv>();
holdComplete.use(twilioWebhook());
holdComplete.post("/", async (c) => {
  const call = readInboundCall(c.var.twilioParams);
  if (!call) throw new AppError({ kind: "bad_request", message: "Missing CallSid, From or To" });
  const line = readLine(c.req.query("line"));
  const agentKey = readAgentKey(c.req.query("agent"));
  const queueResult = param(c.var.twilioParams, "QueueResult") ?? "unknown";
  const { exit, answer } = await answerFromHold(c.env, call, line, agentKey, queueResult);
  const actionKey = answer?.actionKey ?? null;
  const actions = actionKey === null
    ? undefined
    : { ...dialActions(c.var.twilioUrl, actionKey), hold: holdUrls(c.var.twilioUrl, actionKey, line), voicemail: voicemailUrls(c.var.twilioUrl, line) };
  log("info", "twilio.hold_complete", {
    callSid: call.callSid,
    agentKey: maskKey(agentKey),
    queueResult,
    exit: exit.kind,
    ...("heldMs" in exit && { heldMs: exit.heldMs }),
    outcome: answer?.outcome.kind ?? "abandoned",
    ...answer?.log,
  });
  const twiml = answer ? outcomeTwiml(answer.outcome, actions, answer.leg) : hangUp();
  return c.body(twimlDocument(twiml), 200, TWIML_HEADERS);
});
