/**
 * What a held caller gets from Twilio's queue (https://www.twilio.com/docs/voice/twiml/enqueue): the `<Enqueue>`
 * that puts them on hold, its URLs, and each waitUrl turn's TwiML. One queue per line.
 */
import type { AgentConfig } from "../agents/schema.ts";
import { enqueue, leave, play, say } from "../twilio/twiml.ts";
import { DEFAULT_HOLD_MESSAGE, DEFAULT_HOLD_MUSIC_URL } from "./settings.ts";
import { endTwilioUrl } from "../twilio/params.ts";

export const HOLD_PATH = "/api/webhooks/twilio/hold";
export const HOLD_COMPLETE_PATH = "/api/webhooks/twilio/hold-complete";
/** The Url of our REST dequeue of a held caller (line/dequeue.ts): the same answer as the Enqueue action's. */
export const HOLD_DEQUEUED_PATH = "/api/webhooks/twilio/hold-dequeued";
/** Twilio's queue names are at most 64 characters (tw-enqueue); a line name (E.164) fits with the prefix. */
const MAX_QUEUE_NAME = 64;

export interface HoldUrls {
  waitUrl: string;
  action: string;
  queue: string;
  /** Given to Twilio's Queue Members update when the line dequeues the caller, not in the TwiML. */
  dequeued: string;
}

/** The queue of a line: one per line, so a full line holds its own callers only. */
export function queueName(line: string): string {
  return `hold:${line}`.slice(0, MAX_QUEUE_NAME);
}

/**
 * The URLs Twilio is given for a held call: absolute, on the origin Twilio signed, naming the line (Twilio's
 * queue requests do not say which of our numbers the call is on in a way we could trust more than our own signed
 * query) and the agent's KV key, both covered by Twilio's signature when it posts back.
 */
export function holdUrls(signedRequestUrl: string, agentKey: string, line: string): HoldUrls {
  const origin = new URL(signedRequestUrl).origin;
  const url = (path: string) => {
    const u = new URL(path, origin);
    u.searchParams.set("agent", agentKey);
    u.searchParams.set("line", line);
    return endTwilioUrl(u);
  };
  return { waitUrl: url(HOLD_PATH), action: url(HOLD_COMPLETE_PATH), queue: queueName(line), dequeued: url(HOLD_DEQUEUED_PATH) };
}

export function enqueueTwiml(urls: HoldUrls): string {
  return enqueue(urls.queue, { action: urls.action, waitUrl: urls.waitUrl });
}

/** One waitUrl turn while the caller waits: the message, then the music; Twilio asks again when both have played. */
export function waitTwiml(agent: Pick<AgentConfig, "holdMessage" | "holdMusicUrl"> | null): string {
  return say(agent?.holdMessage ?? DEFAULT_HOLD_MESSAGE) + play(agent?.holdMusicUrl ?? DEFAULT_HOLD_MUSIC_URL);
}

export function leaveTwiml(): string {
  return leave();
}
