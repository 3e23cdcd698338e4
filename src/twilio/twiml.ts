/**
 * TwiML documents (https://www.twilio.com/docs/voice/twiml). Every value is XML-escaped here,
 * so no caller of this module writes markup by hand.
 */

/** The opening of every answer; streamed before Retell has answered (see routes/voice.ts). */
export const RESPONSE_OPEN = '<?xml version="1.0" encoding="UTF-8"?><Response>';
export const RESPONSE_CLOSE = "</Response>";

/**
 * `Content-Encoding: identity` keeps workerd from gzip-compressing the answer for Twilio (which sends
 * Accept-Encoding: gzip): its compressor would hold back the streamed `<Response>` until the end.
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

/** What the person hears before being connected: a whisper URL may only use Say, Play, Gather and Hangup (tw-number). */
export function say(message: string): string {
  return element("Say", {}, escapeXml(message));
}

export function twimlDocument(body: string): string {
  return RESPONSE_OPEN + body + RESPONSE_CLOSE;
}
