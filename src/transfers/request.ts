/**
 * The transfer function's request: a Retell custom function call, `{ name, call, args }` (vendor facts §D), with
 * `args.destination` (a name) and an optional `args.announce`. The call is found through the metadata the voice
 * webhook registered (`twilio_call_sid`, `twilio_line`, calls/connect.ts).
 */
import { MAX_ANNOUNCE_CHARS } from "./dial.ts";

/** Twilio SIDs and Retell ids: letters, digits, `_` and `-` (as retell/events.ts reads them). */
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** Longest `destination` kept: a name is at most 32 characters; a longer string is not one. */
const MAX_DESTINATION_CHARS = 256;

export interface TransferCall {
  /** The Retell call (AI leg) asking. */
  retellCallId: string;
  /** From the call's metadata; absent for a call this bridge did not register. */
  callSid?: string;
  line?: string;
  destination: string;
  announce?: string;
  /** Longer than MAX_ANNOUNCE_CHARS: refused with a sentence, so the model can shorten it. */
  announceTooLong: boolean;
}

export type TransferRead = { ok: true; call: TransferCall } | { ok: false; detail: string };

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function readTransferRequest(payload: unknown): TransferRead {
  const body = object(payload);
  if (!body) return { ok: false, detail: "body is not a JSON object" };
  if (typeof body.name !== "string") return { ok: false, detail: "no function name: turn off \"Payload: args only\" in the function's settings" };
  const call = object(body.call);
  const retellCallId = typeof call?.call_id === "string" && ID.test(call.call_id) ? call.call_id : undefined;
  if (!call || !retellCallId) return { ok: false, detail: "no call.call_id" };
  const args = object(body.args);
  if (!args) return { ok: false, detail: "args is not an object" };
  const { destination, announce } = args;
  if (typeof destination !== "string" || destination.trim() === "") return { ok: false, detail: "args.destination is not a non-empty string" };
  if (announce !== undefined && announce !== null && typeof announce !== "string") return { ok: false, detail: "args.announce is not a string" };

  const read: TransferCall = { retellCallId, destination: destination.slice(0, MAX_DESTINATION_CHARS), announceTooLong: false };
  const text = typeof announce === "string" ? announce.trim() : "";
  if (text !== "") {
    read.announce = text;
    read.announceTooLong = text.length > MAX_ANNOUNCE_CHARS;
  }
  const metadata = object(call.metadata);
  const callSid = metadata?.twilio_call_sid;
  if (typeof callSid === "string" && CALL_SID.test(callSid)) read.callSid = callSid;
  const line = metadata?.twilio_line;
  if (typeof line === "string" && line !== "" && line.length <= 64) read.line = line;
  return { ok: true, call: read };
}

/** What makes two requests the same (destination, case-insensitively, and announcement), as a digest: the record keeps no announcement. */
export async function requestKey(destination: string, announce: string | undefined): Promise<string> {
  const data = new TextEncoder().encode(JSON.stringify([destination.trim().toLowerCase(), announce ?? ""]));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
