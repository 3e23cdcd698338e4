/**
 * The consent notice (an agent's `announce`): what the caller hears before the `<Dial>` to Retell, e.g. that the
 * call is recorded or handled by an AI. Either a sentence spoken with `<Say>` (in the voice and language given,
 * else Twilio's) or an audio file played with `<Play>`. Validated here for the Worker and the CLI alike.
 */
import { play, say } from "../twilio/twiml.ts";

export type Announce = { text: string; voice?: string; language?: string } | { url: string };

/** The bound; Twilio's `<Say>` itself reads at most 4 096 characters (twilio.com/docs/voice/twiml/say). */
export const MAX_ANNOUNCE_CHARS = 1_000;
/** A media URL Twilio fetches: https only, as a URL in a KV value is the operator's, never a caller's. */
const MAX_URL_CHARS = 1_000;
/** Twilio's voice names (`alice`, `Polly.Joanna`, `Google.en-US-Standard-C`, `Polly.Joanna-Neural`). */
const VOICE = /^[A-Za-z0-9._-]{1,64}$/;
/** BCP 47 tags as Twilio writes them (`en-US`, `fr-CA`, `cmn-CN`). */
const LANGUAGE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,2}$/;

export type Checked<T> = { ok: true; value: T } | { ok: false; detail: string };

/** Why `value` cannot be a media URL for Twilio to fetch (a phrase after the field's name), or null. */
export function mediaUrlProblem(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0) return "is not a string";
  if (value.length > MAX_URL_CHARS) return `is longer than ${MAX_URL_CHARS} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "is not a URL";
  }
  if (url.protocol !== "https:") return "is not an https URL";
  if (url.username || url.password) return "carries credentials, which Twilio's request would leak in its logs";
  return null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Why `value` cannot be a spoken sentence of at most `max` characters (a phrase after the field's name), or null. */
export function sentenceProblem(value: unknown, max: number): string | null {
  if (typeof value !== "string" || value.trim() === "") return "is not a non-empty string";
  if (value.length > max) return `is longer than ${max} characters`;
  return null;
}

export function validateAnnounce(value: unknown, field = "announce"): Checked<Announce> {
  const bad = (detail: string): Checked<Announce> => ({ ok: false, detail: `${field} ${detail}` });
  if (!isPlainObject(value)) return bad('is not an object: {"text": "…"} or {"url": "https://…"}');
  const keys = Object.keys(value);
  if ("url" in value) {
    if (keys.length !== 1) return bad("with a url takes no other field");
    const problem = mediaUrlProblem(value.url);
    return problem ? { ok: false, detail: `${field}.url ${problem}` } : { ok: true, value: { url: value.url as string } };
  }
  for (const key of keys) if (!["text", "voice", "language"].includes(key)) return bad(`has an unknown field "${key}"`);
  const text = sentenceProblem(value.text, MAX_ANNOUNCE_CHARS);
  if (text) return { ok: false, detail: `${field}.text ${text}` };
  const announce: Announce = { text: value.text as string };
  if (value.voice !== undefined) {
    if (typeof value.voice !== "string" || !VOICE.test(value.voice)) return bad("voice is not a Twilio voice name (letters, digits, . _ -)");
    announce.voice = value.voice;
  }
  if (value.language !== undefined) {
    if (typeof value.language !== "string" || !LANGUAGE.test(value.language)) return bad("language is not a language tag such as en-US");
    announce.language = value.language;
  }
  return { ok: true, value: announce };
}

/** The notice's TwiML verb; every value escaped by twiml.ts. */
export function announceTwiml(announce: Announce): string {
  if ("url" in announce) return play(announce.url);
  return say(announce.text, { ...(announce.voice && { voice: announce.voice }), ...(announce.language && { language: announce.language }) });
}
