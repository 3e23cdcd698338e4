/**
 * Placing an outbound call (POST /api/calls): the agent from KV (`from` must be one of the operator's mapped
 * numbers), the destination checked (outbound/destination.ts, not one of ours), a count on the account's daily
 * cap and a slot on the calling number's line object, then Twilio's Calls resource (POST /2010-04-01/Accounts/{AccountSid}/Calls.json, vendor facts §B), then the
 * CallSid back to the line, or the slot given back when Twilio refused. Every failure is an AppError.
 */
import type { Bindings } from "../env.ts";
import { lookupAgent } from "../agents/lookup.ts";
import { isOwnNumber } from "../agents/own-numbers.ts";
import { AGENT_KEY_PREFIX } from "../agent-key.ts";
import { AppError } from "../errors.ts";
import { ACCOUNT_LINE, type AccountTake } from "../line/account-calls.ts";
import { askLine, lineStub } from "../line/address.ts";
import type { OutboundReservation } from "../line/outbound.ts";
import { log } from "../log.ts";
import { maskKey, maskPhone } from "../phone.ts";
import { endTwilioUrl, isAccountSid } from "../twilio/params.ts";
import { nothingDone, twilioPost, type TwilioForm } from "../twilio/rest.ts";
import type { OutboundContext } from "./context.ts";
import { allowedCountries, checkDestination } from "./destination.ts";
import { OUTBOUND_TIME_LIMIT_S, outboundLimits, type OutboundLimits } from "../line/outbound-limits.ts";
import { twilioMachineDetection } from "../line/machine.ts";
import type { OutboundRequest } from "./request.ts";

export const OUTBOUND_PATH = "/api/webhooks/twilio/outbound";
const STATUS_PATH = "/api/webhooks/twilio/status";
/** The Twilio call status events reported to the status route: every step, so the CLI can follow the call. */
export const STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"] as const;
/** Twilio answers a create in well under a second; past this the request is abandoned (and its slot kept). */
export const TWILIO_TIMEOUT_MS = 10_000;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

export interface PlacedCall {
  callSid: string;
  status: string;
}

/**
 * The Calls.json form. Both URLs carry only the reservation id, covered by Twilio's signature when it calls
 * back; StatusCallbackEvent is repeated once per event, as twilio-node sends a list.
 */
export function callCreateForm(request: OutboundRequest, origin: string, reservationId: string): TwilioForm {
  const withReservation = (path: string) => {
    const url = new URL(path, origin);
    url.searchParams.set("reservation", reservationId);
    return endTwilioUrl(url);
  };
  const form: TwilioForm = [
    ["To", request.to],
    ["From", request.from],
    ["Url", withReservation(OUTBOUND_PATH)],
    ["Method", "POST"],
    ["StatusCallback", withReservation(STATUS_PATH)],
    ["StatusCallbackMethod", "POST"],
    ...STATUS_EVENTS.map((event): [string, string] => ["StatusCallbackEvent", event]),
    ["TimeLimit", String(OUTBOUND_TIME_LIMIT_S)],
  ];
  const detection = twilioMachineDetection(request.machineDetection);
  if (detection) form.push(["MachineDetection", detection]);
  return form;
}

function settings(env: Bindings, from: string): { accountSid: string; limits: OutboundLimits; countries: ReadonlySet<string> } {
  const accountSid = env.TWILIO_ACCOUNT_SID?.trim() ?? "";
  const misconfigured = (detail: string, name: string) => new AppError({ kind: "misconfigured", detail, event: "config.invalid_var", log: { var: name } });
  if (!isAccountSid(accountSid)) throw misconfigured("TWILIO_ACCOUNT_SID must be the account's SID (AC and 32 hex digits) to place calls", "TWILIO_ACCOUNT_SID");
  if (!env.TWILIO_AUTH_TOKEN) throw misconfigured("TWILIO_AUTH_TOKEN is not set: wrangler secret put TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN");
  const read = outboundLimits(env);
  if (!read.ok) throw misconfigured(read.message, "OUTBOUND_LIMITS");
  const countries = allowedCountries(env.OUTBOUND_ALLOWED_COUNTRIES, from);
  if (!countries.ok) throw misconfigured(countries.message, "OUTBOUND_ALLOWED_COUNTRIES");
  return { accountSid, limits: read.limits, countries: countries.countries };
}

/**
 * The destination: in an allowed country, not premium rate, not non-geographic (outbound/destination.ts), and
 * not one of the bridge's own numbers (a loop through the bridge). KV failing refuses the call.
 */
async function checkTo(env: Bindings, to: string, countries: ReadonlySet<string>): Promise<void> {
  const destination = checkDestination(to, countries);
  if (!destination.ok) throw new AppError({ kind: "bad_request", message: destination.message, event: "outbound.destination_refused", log: { field: "to", to: maskPhone(to), reason: destination.reason } });
  const own = await isOwnNumber(env.AGENTS, to).catch((error: unknown) => {
    throw new AppError({ kind: "storage_unavailable", detail: error instanceof Error ? error.message : String(error) });
  });
  if (own) throw new AppError({ kind: "bad_request", message: "to is one of this bridge's own numbers (it has a mapping): the call would loop through the bridge", event: "outbound.destination_refused", log: { field: "to", to: maskPhone(to), reason: "own_number" } });
}

/** The agent that takes the call; `from` must itself be one of the operator's numbers (a mapping in KV), whichever agent takes it. */
async function readContext(env: Bindings, request: OutboundRequest): Promise<OutboundContext> {
  const viaId = request.agentKey !== request.from;
  const [line, lookup] = await Promise.all([viaId ? lookupAgent(env.AGENTS, request.from) : null, lookupAgent(env.AGENTS, request.agentKey)]);
  if (line && !line.ok) {
    if (line.reason === "agent_lookup_failed") throw new AppError({ kind: "storage_unavailable", detail: line.detail });
    throw new AppError({ kind: "bad_request", message: `from: ${request.from} is not one of this bridge's numbers (no valid mapping in KV): calls are placed only from the operator's own lines`, log: { field: "from" } });
  }
  if (!lookup.ok) {
    if (lookup.reason === "agent_lookup_failed") throw new AppError({ kind: "storage_unavailable", detail: lookup.detail });
    const field = viaId ? "agentId" : "from";
    const where = viaId ? `agent ${request.agentKey.slice(AGENT_KEY_PREFIX.length)} (KV key ${request.agentKey})` : `from ${request.from}`;
    const problem = lookup.reason === "agent_not_found" ? `no agent is stored for ${where}` : `the agent stored for ${where} is invalid: ${lookup.detail}`;
    throw new AppError({ kind: "bad_request", message: `${field}: ${problem}`, log: { field } });
  }
  const { to, from, agentKey, dynamicVariables, metadata, machineDetection, voicemailMessage } = request;
  return { to, from, agentKey, agent: lookup.agent, dynamicVariables, metadata, machineDetection, ...(voicemailMessage !== undefined && { voicemailMessage }) };
}

/** One more call on the account's daily count (line/account-calls.ts): the day to give back if the call is not placed. */
async function takeAccountCall(env: Bindings, limit: number, fields: Record<string, unknown>): Promise<string> {
  const taken = await askLine<AccountTake>(lineStub(env, ACCOUNT_LINE).takeAccountCall(limit, Date.now()), "account count").catch((error: unknown) => {
    throw new AppError({ kind: "storage_unavailable", detail: error instanceof Error ? error.message : String(error) });
  });
  if (!taken.ok) {
    const message = `the account has started ${taken.started} calls today (UTC) from all its numbers, the most OUTBOUND_ACCOUNT_DAILY_LIMIT (${limit}) allows; the count resets at 00:00 UTC`;
    throw new AppError({ kind: "limit_reached", message, event: "outbound.limit_reached", log: { ...fields, limit: "account_daily" } });
  }
  return taken.day;
}

async function returnAccountCall(env: Bindings, day: string): Promise<void> {
  await askLine(lineStub(env, ACCOUNT_LINE).returnAccountCall(day), "account release").catch((error: unknown) => {
    log("error", "line.unavailable", { step: "account_release", detail: error instanceof Error ? error.message : String(error) });
  });
}

export async function placeCall(env: Bindings, request: OutboundRequest, origin: string): Promise<PlacedCall> {
  const { accountSid, limits, countries } = settings(env, request.from);
  const [context] = await Promise.all([readContext(env, request), checkTo(env, request.to, countries)]);
  const line = lineStub(env, request.from);
  const fields = { from: maskPhone(request.from), to: maskPhone(request.to), agentKey: maskKey(request.agentKey) };

  const day = await takeAccountCall(env, limits.accountDailyLimit, fields);
  const reservation = await askLine<OutboundReservation>(line.reserveOutbound(context, limits, Date.now()), "line reserve").catch(async (error: unknown) => {
    await returnAccountCall(env, day);
    throw new AppError({ kind: "storage_unavailable", detail: error instanceof Error ? error.message : String(error) });
  });
  if (!reservation.ok) {
    await returnAccountCall(env, day);
    throw new AppError({ kind: "limit_reached", message: reservation.message, event: "outbound.limit_reached", log: { ...fields, limit: reservation.limit } });
  }
  const { reservationId } = reservation;

  const result = await twilioPost(env, accountSid, "/Calls.json", callCreateForm(request, origin, reservationId), TWILIO_TIMEOUT_MS);
  const sid = result.ok ? result.body?.sid : undefined;
  if (result.ok && typeof sid === "string" && CALL_SID.test(sid)) {
    try {
      await askLine(line.confirmOutbound(reservationId, sid, accountSid), "line confirm");
    } catch (error) {
      // The call exists: its first callback names the reservation and joins the CallSid to it (line/object.ts).
      log("error", "line.unavailable", { callSid: sid, step: "outbound_confirm", detail: error instanceof Error ? error.message : String(error) });
    }
    const status = typeof result.body?.status === "string" ? result.body.status : "queued";
    log("info", "outbound.placed", { ...fields, callSid: sid, status, machineDetection: request.machineDetection });
    return { callSid: sid, status };
  }
  if (!result.ok && nothingDone(result)) {
    // Twilio created nothing: the slot and the day's counts go back.
    await askLine(line.releaseOutbound(reservationId), "line release").catch((error: unknown) => {
      log("error", "line.unavailable", { step: "outbound_release", detail: error instanceof Error ? error.message : String(error) });
    });
    await returnAccountCall(env, day);
    throw new AppError({
      kind: "twilio_error",
      code: result.code ?? null,
      message: result.message ?? result.detail,
      detail: result.detail,
      event: "outbound.twilio_rejected",
      log: { ...fields, twilioStatus: result.status, twilioCode: result.code, reason: result.reason },
    });
  }
  // No usable answer: Twilio may have placed the call, so its slot stays taken until a callback or SLOT_TIMEOUT_MS frees it.
  const detail = result.ok ? "Twilio's answer has no valid call sid" : result.detail;
  throw new AppError({
    kind: "twilio_error",
    code: null,
    message: "Twilio did not confirm the call; it may still be placed, and its slot stays taken until Twilio reports it or the slot times out",
    detail,
    event: "outbound.twilio_unconfirmed",
    log: fields,
  });
}
