/**
 * The TwiML that moves a live call to a person (sent inline as the call update's `Twiml`, vendor facts §A): a
 * `<Dial>` of the destination whose `action` is transfer-complete, with the whisper as the noun's `url`. Inline
 * TwiML must use absolute URLs (Twilio error 15004) and stay within 4,000 characters (error 32018).
 */
import type { AgentConfig } from "../agents/schema.ts";
import { normalizeE164 } from "../phone.ts";
import { endTwilioUrl } from "../twilio/params.ts";
import { dialTransfer, twimlDocument } from "../twilio/twiml.ts";
import { DEFAULT_TRANSFER_TIMEOUT_S, type Destination } from "./destinations.ts";

export const TRANSFER_COMPLETE_PATH = "/api/webhooks/twilio/transfer-complete";
export const TRANSFER_WHISPER_PATH = "/api/webhooks/twilio/transfer-whisper";
/** Twilio's limit for an update's `Twiml` (https://www.twilio.com/docs/api/errors/32018). */
export const MAX_INLINE_TWIML_CHARS = 4_000;
/** The longest announcement: a sentence or two for the person; with it, the TwiML stays under 4,000 characters. */
export const MAX_ANNOUNCE_CHARS = 300;
/** The whisper's query parameter: the sentence itself, covered by Twilio's signature when Twilio requests it. */
export const WHISPER_PARAM = "say";

export interface TransferDial {
  destination: Destination;
  /** The attempt's index in the call's record, which transfer-complete reports on. */
  index: number;
  agent: AgentConfig;
  /** The Twilio number the caller dialed: the caller id when the agent sets none. */
  dialed: string | null;
  /** The public origin Twilio reaches the Worker on (WEBHOOK_BASE_URL, else the request's). */
  origin: string;
  announce?: string;
}

export function transferCompleteUrl(origin: string, index: number): string {
  const url = new URL(TRANSFER_COMPLETE_PATH, origin);
  url.searchParams.set("attempt", String(index));
  return endTwilioUrl(url);
}

export function whisperUrl(origin: string, announce: string): string {
  const url = new URL(TRANSFER_WHISPER_PATH, origin);
  url.searchParams.set(WHISPER_PARAM, announce);
  return endTwilioUrl(url);
}

/** The transfer's whole TwiML document. */
export function transferTwiml(dial: TransferDial): string {
  const { destination, agent } = dial;
  const callerId = agent.transferCallerId ?? (dial.dialed === null ? undefined : (normalizeE164(dial.dialed) ?? undefined));
  return twimlDocument(
    dialTransfer(
      { kind: destination.kind, target: destination.target, ...(dial.announce && { whisperUrl: whisperUrl(dial.origin, dial.announce) }) },
      { action: transferCompleteUrl(dial.origin, dial.index), timeout: agent.transferTimeoutSeconds ?? DEFAULT_TRANSFER_TIMEOUT_S, callerId },
    ),
  );
}
