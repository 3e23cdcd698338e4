/**
 * Helpers for the transfer tests: a call answered by the voice webhook for an agent with transfers, the transfer
 * function's request as Retell sends it (signed with retell-sdk's own `sign`), the call updates the Twilio
 * stand-in received for the call, and the transfer's `<Dial action>` as Twilio posts it.
 */
import { DOMParser } from "@xmldom/xmldom";
import { sign } from "retell-sdk/lib/webhook_auth";
import { ORIGIN, retellRequests, twilioRequest, twilioRequests, worker } from "./helpers.ts";
import { answeredCall, lineRecord, type AnsweredCall } from "./records.ts";
import type { CallRecord } from "../src/records/list.ts";
import { TEST_RETELL_API_KEY, TEST_TWILIO_ACCOUNT_SID } from "./secrets.ts";

export const SALES = "+61390000001";
export const SUPPORT = "sip:desk@pbx.example.com";
export const TRANSFERS = { sales: SALES, support: SUPPORT };
export const TRANSFER_PATH = "/api/webhooks/retell/transfer";

export interface TransferCall extends AnsweredCall {
  /** The Retell call bridged now (the voice webhook's registration). */
  retellCallId: string;
  /** The call object as Retell sends it in a custom function's body. */
  retell: Record<string, unknown>;
  record: () => Promise<CallRecord | null>;
}

/** A call answered for an agent with `config` (by default transfers to sales and support); `extra`: more webhook parameters. */
export async function transferCall(config: Record<string, unknown> = { transfers: TRANSFERS }, extra: Record<string, string> = {}): Promise<TransferCall> {
  const call = await answeredCall(config, extra);
  const registration = (await retellRequests(call.agentId)).find((r) => r.path === "/v2/register-phone-call" && r.callId);
  if (!registration?.callId) throw new Error(`the stand-in registered no call for ${call.agentId}`);
  const { metadata } = registration.body as { metadata: Record<string, unknown> };
  const retell = { call_id: registration.callId, call_type: "phone_call", agent_id: call.agentId, call_status: "ongoing", metadata, transcript: "User: can I talk to someone?" };
  return { ...call, retellCallId: registration.callId, retell, record: () => lineRecord(call.line, call.sid) };
}

export interface TransferRequestOptions {
  /** Sign with this key instead of the Worker's RETELL_API_KEY; `null`: no signature header. */
  key?: string | null;
  /** The Retell call id the request comes from (default: the call's current leg). */
  retellCallId?: string;
}

/** The transfer function's request as Retell sends it: `{ name, call, args }`, signed over the raw body. */
export async function transferRequest(call: TransferCall, args: unknown, options: TransferRequestOptions = {}): Promise<Request> {
  const retell = options.retellCallId ? { ...call.retell, call_id: options.retellCallId } : call.retell;
  return signedTransfer(JSON.stringify({ name: "transfer_call", call: retell, args }), options.key);
}

export async function signedTransfer(body: string, key: string | null = TEST_RETELL_API_KEY): Promise<Request> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (key !== null) headers["x-retell-signature"] = await sign(body, key);
  return new Request(ORIGIN + TRANSFER_PATH, { method: "POST", headers, body });
}

/** Sends the transfer request and reads the answer. */
export async function transfer(call: TransferCall, args: unknown, options?: TransferRequestOptions): Promise<{ status: number; body: { ok: boolean; message: string } }> {
  const res = await worker(await transferRequest(call, args, options));
  return { status: res.status, body: (await res.json()) as { ok: boolean; message: string } };
}

export const callPath = (sid: string) => `/2010-04-01/Accounts/${TEST_TWILIO_ACCOUNT_SID}/Calls/${sid}.json`;

/** The call updates the Twilio stand-in received for the call, oldest first. */
export async function callUpdates(sid: string) {
  return twilioRequests(callPath(sid));
}

/** A TwiML document's dial, its `<Number>` or `<Sip>`, and its other verbs, parsed. */
export function parseTwiml(text: string) {
  const doc = new DOMParser().parseFromString(text, "text/xml");
  const dial = doc.getElementsByTagName("Dial")[0];
  const noun = doc.getElementsByTagName("Number")[0] ?? doc.getElementsByTagName("Sip")[0];
  return {
    dial: dial ? Object.fromEntries([...Array.from(dial.attributes)].map((a) => [a.name, a.value])) : null,
    noun: noun ? { name: noun.tagName, target: noun.textContent, url: noun.getAttribute("url") } : null,
    say: doc.getElementsByTagName("Say")[0]?.textContent ?? null,
    hangup: doc.getElementsByTagName("Hangup").length,
    verbs: doc.documentElement?.childNodes.length ?? -1,
  };
}

/** Every `<Number>` and `<Sip>` target in a TwiML document. */
export function dialedTargets(twiml: string): string[] {
  return [...twiml.matchAll(/<(Number|Sip)\b[^>]*>([^<]*)<\/\1>/g)].map((m) => (m[2] as string).replaceAll("&amp;", "&"));
}

/** An absolute URL of ours as a path and query on ORIGIN (the form twilioRequest takes). */
export function ourPath(url: string): string {
  if (!url.startsWith(ORIGIN)) throw new Error(`${url} is not on ${ORIGIN}`);
  return url.slice(ORIGIN.length);
}

/** What Twilio posts to the transfer's `<Dial action>` (`action`, from the update's TwiML) when the person's dial ends. */
export function transferResult(call: TransferCall, action: string, dial: Record<string, string>): Request {
  const { CallSid = "", AccountSid = "", From = "", To = "" } = call.params;
  return twilioRequest(ourPath(action), { AccountSid, CallSid, From, To, CallStatus: "in-progress", Direction: "inbound", DialCallSid: "CA" + "e".repeat(32), ...dial });
}
