/**
 * An agent's hold settings (`maxConcurrentCalls`, `holdMessage`, `holdMusicUrl`, `maxHoldSeconds`): validation,
 * shared by the Worker and the CLI, and the defaults. Plain TypeScript.
 */
import { mediaUrlProblem, sentenceProblem } from "../calls/announce.ts";

/** How long a caller is held before being sent on, when the agent does not say (the default). */
export const DEFAULT_MAX_HOLD_S = 120;
/** Bounds of maxHoldSeconds: under 10 s a hold is pointless; over 10 minutes a caller should be sent on. */
export const MIN_MAX_HOLD_S = 10;
export const MAX_MAX_HOLD_S = 600;
/** Well above any account's Retell concurrency; a larger number is a typo. */
export const MAX_CONCURRENT_CALLS = 1_000;
/** Held callers hear this, then the music, each time Twilio asks the waitUrl, unless the agent has its own. */
export const DEFAULT_HOLD_MESSAGE = "All our lines are busy. Please hold, and you will be connected shortly.";
/**
 * Twilio's own hold music: its default waitUrl (`http://twimlets.com/holdmusic?Bucket=com.twilio.music.classical`,
 * https://www.twilio.com/docs/voice/twiml/enqueue#attributes-wait-url) plays the tracks of this public bucket; one
 * of them is played per turn. Plain http: the bucket's dotted name does not match S3's TLS certificate.
 */
export const DEFAULT_HOLD_MUSIC_URL = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3";
/** Long enough for a sentence; Twilio's `<Say>` itself reads up to 4 096 characters. */
export const MAX_HOLD_MESSAGE_CHARS = 1_000;

export interface HoldFields {
  maxConcurrentCalls?: number;
  holdMessage?: string;
  holdMusicUrl?: string;
  maxHoldSeconds?: number;
}

export type HoldCheck = { ok: true; fields: HoldFields } | { ok: false; detail: string };

function wholeNumberIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** Validates the hold fields of an agent value (each optional). */
export function validateHold(value: Record<string, unknown>): HoldCheck {
  const fields: HoldFields = {};
  const { maxConcurrentCalls, holdMessage, holdMusicUrl, maxHoldSeconds } = value;
  if (maxConcurrentCalls !== undefined) {
    if (!wholeNumberIn(maxConcurrentCalls, 1, MAX_CONCURRENT_CALLS)) return { ok: false, detail: `maxConcurrentCalls is not a whole number from 1 to ${MAX_CONCURRENT_CALLS}` };
    fields.maxConcurrentCalls = maxConcurrentCalls;
  }
  if (holdMessage !== undefined) {
    const problem = sentenceProblem(holdMessage, MAX_HOLD_MESSAGE_CHARS);
    if (problem) return { ok: false, detail: `holdMessage ${problem}` };
    fields.holdMessage = holdMessage as string;
  }
  if (holdMusicUrl !== undefined) {
    const problem = mediaUrlProblem(holdMusicUrl);
    if (problem) return { ok: false, detail: `holdMusicUrl ${problem}` };
    fields.holdMusicUrl = holdMusicUrl as string;
  }
  if (maxHoldSeconds !== undefined) {
    if (!wholeNumberIn(maxHoldSeconds, MIN_MAX_HOLD_S, MAX_MAX_HOLD_S)) {
      return { ok: false, detail: `maxHoldSeconds is not a whole number from ${MIN_MAX_HOLD_S} to ${MAX_MAX_HOLD_S}` };
    }
    fields.maxHoldSeconds = maxHoldSeconds;
  }
  return { ok: true, fields };
}

export function maxHoldMs(agent: HoldFields): number {
  return (agent.maxHoldSeconds ?? DEFAULT_MAX_HOLD_S) * 1_000;
}
