/**
 * TwiML documents (https://www.twilio.com/docs/voice/twiml). Every value is XML-escaped here,
 * so no caller of this module writes markup by hand.
 */

const RESPONSE_OPEN = '<?xml version="1.0" encoding="UTF-8"?><Response>';
const RESPONSE_CLOSE = "</Response>";

/**
 * `Content-Encoding: identity`: a document of a few hundred bytes gains nothing from gzip, which workerd would
 * otherwise apply for Twilio (it sends Accept-Encoding: gzip), at a cost to both ends.
 */
export const TWIML_HEADERS = {
  "Content-Type": "text/xml; charset=utf-8",
  "Content-Encoding": "identity",
  "Cache-Control": "no-store",
} as const;

/** Characters XML 1.0 cannot carry at all, not even as references (XML 1.0 §2.2 Char). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/**
 * Markup characters, plus tab, CR and LF as character references: a parser turns a literal CR into LF and,
 * in attribute values, all three into spaces (XML 1.0 §2.11, §3.3.3); references keep them as they were.
 */
const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

/** Escapes text or an attribute value; characters XML cannot represent are dropped. */
export function escapeXml(value: string): string {
  return value.replace(NOT_XML_CHAR, "").replace(/[&<>"'\t\n\r]/g, (ch) => ENTITIES[ch] as string);
}

type Attributes = Record<string, string | number | boolean | undefined>;

function element(name: string, attributes: Attributes, content: string | null): string {
  let attrs = "";
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) attrs += ` ${key}="${escapeXml(String(value))}"`;
  }
  return content === null ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}

export interface DialOptions {
  /** Where Twilio posts the dial's result; when set, the verbs after <Dial> are never reached (tw-dial). */
  action?: string;
  /** The most seconds the dialed leg may last (Twilio's default: 14 400, four hours; twilio.com/docs/voice/twiml/dial#timelimit). */
  timeLimit?: number;
  /** Seconds to wait for an answer (Twilio's default is 30). */
  timeout?: number;
  /** The caller id the dialed party sees (a Twilio number of ours for `<Number>`; tw-dial "callerId"). */
  callerId?: string;
}

/**
 * Dials a SIP URI. answerOnBridge keeps the caller hearing ringing until the far end answers,
 * instead of silence while Retell's agent starts (https://www.twilio.com/docs/voice/twiml/dial#answeronbridge).
 */
export function dialSip(uri: string, options: DialOptions = {}): string {
  return element("Dial", { answerOnBridge: true, ...options }, element("Sip", {}, escapeXml(uri)));
}

export function dialNumber(number: string, options: DialOptions = {}): string {
  return element("Dial", { answerOnBridge: true, ...options }, element("Number", {}, escapeXml(number)));
}

export function sayAndHangUp(message: string): string {
  return say(message) + hangUp();
}

/** Ends the call (https://www.twilio.com/docs/voice/twiml/hangup). */
export function hangUp(): string {
  return element("Hangup", {}, null);
}

/**
 * Turns the call away unanswered: `rejected` plays the not-in-service message. As the first verb it leaves the
 * call unanswered and unbilled (https://www.twilio.com/docs/voice/twiml/reject).
 */
export function reject(): string {
  return element("Reject", { reason: "rejected" }, null);
}

/** A person to transfer to: a number or a SIP URI, and the whisper they hear before being connected. */
export interface TransferTarget {
  kind: "number" | "sip";
  target: string;
  /** TwiML URL run on the person's leg once they answer, before the caller is connected (tw-number "url"). */
  whisperUrl?: string;
}

/** Dials a person for a transfer: `<Number>` or `<Sip>`, with the whisper as the noun's `url`. */
export function dialTransfer(to: TransferTarget, options: DialOptions): string {
  const noun = element(to.kind === "sip" ? "Sip" : "Number", { url: to.whisperUrl }, escapeXml(to.target));
  return element("Dial", { answerOnBridge: true, ...options }, noun);
}

/** `<Say>`'s voice and language (twilio.com/docs/voice/twiml/say); Twilio's defaults when left out. */
export interface SayOptions {
  voice?: string;
  language?: string;
}

/** What the person hears before being connected: a whisper URL may only use Say, Play, Gather and Hangup (tw-number). */
export function say(message: string, options: SayOptions = {}): string {
  return element("Say", { voice: options.voice, language: options.language }, escapeXml(message));
}

/** Plays an audio file once (twilio.com/docs/voice/twiml/play). */
export function play(url: string): string {
  return element("Play", {}, escapeXml(url));
}

export interface EnqueueOptions {
  /** Requested when the caller leaves the queue, with QueueResult; its TwiML continues the call (tw-enqueue "action"). */
  action: string;
  /** Requested while the caller waits, again each time its TwiML ends (tw-enqueue "waitUrl"). */
  waitUrl: string;
}

/**
 * Puts the caller in the named queue, created on demand (https://www.twilio.com/docs/voice/twiml/enqueue). Both
 * URLs are posted to, as every Twilio webhook here is.
 */
export function enqueue(queue: string, options: EnqueueOptions): string {
  return element("Enqueue", { action: options.action, method: "POST", waitUrl: options.waitUrl, waitUrlMethod: "POST" }, escapeXml(queue));
}

/** Takes the caller out of the queue; Twilio then requests the Enqueue's action with QueueResult=leave (tw-leave). */
export function leave(): string {
  return element("Leave", {}, null);
}

export interface RecordOptions {
  /** The longest recording, seconds (Twilio's default: 3 600). */
  maxLength: number;
  /** Requested when the recording ends; without it Twilio requests the current document again (tw-record). */
  action: string;
  /** Where Twilio posts RecordingSid, RecordingUrl, RecordingDuration and RecordingStatus once it is stored. */
  recordingStatusCallback: string;
}

/** Records the caller after a beep (https://www.twilio.com/docs/voice/twiml/record); Twilio keeps the audio. */
export function record(options: RecordOptions): string {
  return element("Record", {
    maxLength: options.maxLength,
    action: options.action,
    method: "POST",
    recordingStatusCallback: options.recordingStatusCallback,
    recordingStatusCallbackMethod: "POST",
    playBeep: true,
  }, null);
}

export function twimlDocument(body: string): string {
  return RESPONSE_OPEN + body + RESPONSE_CLOSE;
}
