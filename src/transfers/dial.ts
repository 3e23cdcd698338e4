/**
 * The TwiML that moves a live call to a person (sent inline as the call update's `Twiml`, vendor facts §A): a
 * `<Dial>` of the destination whose `action` is transfer-complete, with the whisper as the noun's `url` (naming
 * only the announcement's opaque id on the line). Inline
 * TwiML must use absolute URLs (Twilio error 15004) and stay within 4,000 characters (error 32018).
 */
import type { AgentConfig } from "../agents/schema.ts";
import { normalizeE164 } from "../phone.ts";
import type { CallRecord } from "../records/list.ts";
import { endTwilioUrl } from "../twilio/params.ts";
import { dialTransfer, twimlDocument } from "../twilio/twiml.ts";
import { DEFAULT_TRANSFER_TIMEOUT_S, type Destination } from "./destinations.ts";

export const TRANSFER_COMPLETE_PATH = "/api/webhooks/twilio/transfer-complete";
export const TRANSFER_WHISPER_PATH = "/api/webhooks/twilio/transfer-whisper";
/** Twilio's limit for an update's `Twiml` (https://www.twilio.com/docs/api/errors/32018). */
export const MAX_INLINE_TWIML_CHARS = 4_000;
/** The longest announcement: a sentence or two for the person (kept on the line, never in the TwiML or a URL). */
export const MAX_ANNOUNCE_CHARS = 300;
/** The whisper URL's query parameters: the line whose object keeps the sentence, and its opaque id there. */
export const WHISPER_LINE_PARAM = "line";
export const WHISPER_ID_PARAM = "whisper";
/**
 * What the person hears before the announcement: the model writes the announcement, and the caller can steer the
 * model, so the sentence is marked as the assistant's and cannot pose as the system (or as the operator).
 */
export const ANNOUNCE_PREFIX = "Message from the assistant:";

export interface TransferDial {
  destination: Destination;
  /** The attempt's index in the call's record, which transfer-complete reports on. */
  index: number;
  agent: AgentConfig;
  /** Our Twilio number on the call (transfers/dial.ts ourNumber): the caller id when the agent sets none. */
  ourNumber: string | null;
  /** The public origin Twilio reaches the Worker on (WEBHOOK_BASE_URL, else the request's). */
  origin: string;
  /** Where the line keeps the announcement (line/whispers.ts), when there is one. */
  whisper?: { line: string; id: string };
}

export function transferCompleteUrl(origin: string, index: number): string {
  const url = new URL(TRANSFER_COMPLETE_PATH, origin);
  url.searchParams.set("attempt", String(index));
  return endTwilioUrl(url);
}

export function whisperUrl(origin: string, whisper: { line: string; id: string }): string {
  const url = new URL(TRANSFER_WHISPER_PATH, origin);
  url.searchParams.set(WHISPER_LINE_PARAM, whisper.line);
  url.searchParams.set(WHISPER_ID_PARAM, whisper.id);
  return endTwilioUrl(url);
}

/**
 * Our number on the call: the one the caller dialed (inbound), or the one we called from (outbound). It is the
 * transfer's default caller id: Twilio accepts a `<Dial callerId>` that is one of the account's numbers (or, on an
 * inbound call, the caller's own), so an outbound call's callee number would be refused
 * (https://www.twilio.com/docs/voice/twiml/dial#callerid).
 */
export function ourNumber(record: Pick<CallRecord, "direction" | "from" | "to">): string | null {
  return record.direction === "outbound" ? record.from : record.to;
}

/** The transfer's whole TwiML document. */
export function transferTwiml(dial: TransferDial): string {
  const { destination, agent } = dial;
  const callerId = agent.transferCallerId ?? (dial.ourNumber === null ? undefined : (normalizeE164(dial.ourNumber) ?? undefined));
  return twimlDocument(
    dialTransfer(
      { kind: destination.kind, target: destination.target, ...(dial.whisper && { whisperUrl: whisperUrl(dial.origin, dial.whisper) }) },
      { action: transferCompleteUrl(dial.origin, dial.index), timeout: agent.transferTimeoutSeconds ?? DEFAULT_TRANSFER_TIMEOUT_S, callerId },
    ),
  );
}
