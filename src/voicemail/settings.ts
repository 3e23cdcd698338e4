/**
 * A voicemail box: the greeting spoken with `<Say>`, then Twilio's `<Record>` for at most `maxSeconds`
 * (https://www.twilio.com/docs/voice/twiml/record). Used as an after-hours target (`schedule.afterHours`) and as an
 * agent's own `voicemail`, where a failed registration or the end of a hold goes when there is no fallback number.
 * Validation shared by the Worker and the CLI: plain TypeScript.
 */
import { sentenceProblem } from "../calls/announce.ts";
import type { Voicemail } from "../line/voice-outcome.ts";

/** The example; Twilio's own default maxLength is an hour, far longer than a message needs. */
export const DEFAULT_VOICEMAIL_SECONDS = 120;
/** Bounds of maxSeconds: a message takes at least a few seconds; Twilio's `<Record>` allows up to 4 hours, a voicemail needs no hour. */
export const MIN_VOICEMAIL_SECONDS = 5;
export const MAX_VOICEMAIL_SECONDS = 3_600;
/** A greeting is a sentence or two; Twilio's `<Say>` reads up to 4 096 characters. */
export const MAX_GREETING_CHARS = 1_000;

export type VoicemailCheck = { ok: true; voicemail: Voicemail } | { ok: false; detail: string };

export function validateVoicemail(value: unknown, field: string): VoicemailCheck {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { ok: false, detail: `${field} is not an object: {"greeting": "…", "maxSeconds": 120}` };
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== "greeting" && key !== "maxSeconds") return { ok: false, detail: `${field} has an unknown field "${key}"` };
  const greeting = sentenceProblem(v.greeting, MAX_GREETING_CHARS);
  if (greeting) return { ok: false, detail: `${field}.greeting ${greeting}` };
  const seconds = v.maxSeconds ?? DEFAULT_VOICEMAIL_SECONDS;
  if (typeof seconds !== "number" || !Number.isSafeInteger(seconds) || seconds < MIN_VOICEMAIL_SECONDS || seconds > MAX_VOICEMAIL_SECONDS) {
    return { ok: false, detail: `${field}.maxSeconds is not a whole number from ${MIN_VOICEMAIL_SECONDS} to ${MAX_VOICEMAIL_SECONDS}` };
  }
  return { ok: true, voicemail: { greeting: v.greeting as string, maxSeconds: seconds } };
}
