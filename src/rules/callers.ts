/**
 * Caller patterns for blocked and allowed callers (`rules:blocked`, an agent's `blockedCallers` and
 * `allowedCallers`; docs/storage.md): an exact E.164 number, a prefix ending in `*` (`+1900*`), or `anonymous`
 * for a caller whose number is withheld or unknown. Shared by the Worker and the CLI.
 */
import { normalizeE164 } from "../phone.ts";

export const ANONYMOUS = "anonymous";
/** A prefix pattern: `+`, a country code's first digit (never 0), up to 14 more digits, then `*`. */
const PREFIX = /^\+[1-9]\d{0,14}\*$/;
/** Separators an operator may type inside a number or prefix, as src/phone.ts allows. */
const SEPARATORS = /[\s\-.()\u00a0]/g;
/**
 * "ANONYMOUS" in keypad digits. Twilio used to translate withheld caller ids into digits
 * (twilio.com/changelog/upcoming-changes-to-withheld-caller-ids-behavior-for-dial-calls); +266 696687 is too
 * short to be a real number in Lesotho (+266 numbers have 8 digits), so treating it as withheld costs nobody.
 */
const ANONYMOUS_DIGITS = "+266696687";

export const PATTERN_HELP = "an E.164 number (+61412345678), a prefix ending in * (+1900*), or anonymous";

export type PatternsResult = { ok: true; patterns: string[] } | { ok: false; detail: string };

/** One pattern as the operator typed it, normalised (`+1 900*` → `+1900*`), or null when it is none. */
export function normalizePattern(input: string): string | null {
  const text = input.trim();
  if (text.toLowerCase() === ANONYMOUS) return ANONYMOUS;
  if (text.endsWith("*")) {
    const prefix = text.replace(SEPARATORS, "");
    return PREFIX.test(prefix) ? prefix : null;
  }
  return normalizeE164(text);
}

/**
 * Validates a list of patterns (`field` names it in the detail); entries come back normalised. The detail names
 * the field and index only, never the entry: it reaches every call's log line, and a hand-written entry such as
 * `0412 345 678` is a phone number in full.
 */
export function validateCallerPatterns(value: unknown, field: string): PatternsResult {
  if (!Array.isArray(value)) return { ok: false, detail: `${field} is not an array of caller patterns` };
  const patterns: string[] = [];
  for (const [index, entry] of value.entries()) {
    const pattern = typeof entry === "string" ? normalizePattern(entry) : null;
    if (pattern === null) return { ok: false, detail: `${field}[${index}] is not ${PATTERN_HELP}` };
    patterns.push(pattern);
  }
  return { ok: true, patterns };
}

/**
 * The caller's number in E.164, or null when Twilio's `From` is not a number: `anonymous`, `restricted`,
 * `unknown`, a `client:` or `sip:` identity, or the keypad digits of "anonymous".
 */
export function callerNumber(from: string): string | null {
  const number = normalizeE164(from);
  return number === ANONYMOUS_DIGITS ? null : number;
}

/** Whether a caller (null: withheld) matches any of the (normalised) patterns. */
export function matchesCaller(patterns: readonly string[], caller: string | null): boolean {
  return patterns.some((pattern) => {
    if (pattern === ANONYMOUS) return caller === null;
    if (caller === null) return false;
    return pattern.endsWith("*") ? caller.startsWith(pattern.slice(0, -1)) : caller === pattern;
  });
}
