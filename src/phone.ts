/**
 * Phone numbers: the one E.164 normalizer, shared by the Worker and the CLI.
 * E.164: a "+", a country code that does not start with 0, at most 15 digits in all (ITU-T E.164 §6).
 */
const E164 = /^\+[1-9]\d{6,14}$/;
/** Separators people write inside numbers: spaces, dashes, dots, parentheses. */
const SEPARATORS = /[\s\-.()\u00a0]/g;

/** `+61 3 4151-7921` → `+61341517921`; anything that is not then E.164 → `null`. */
export function normalizeE164(input: string): string | null {
  const compact = input.trim().replace(SEPARATORS, "");
  return E164.test(compact) ? compact : null;
}

/** For logs: an agent's KV key, masked when it is a phone number (`agent:<id>` keys are kept as they are). */
export function maskKey(key: string | null | undefined): string | null | undefined {
  return key?.startsWith("+") ? maskPhone(key) : key;
}

/** For logs: every digit but the last four masked (`+61341517921` → `+*******7921`). */
export function maskPhone(value: string | undefined | null): string | undefined {
  if (value == null || value === "") return undefined;
  const digits = value.replace(/\D/g, "");
  if (digits.length <= 4) return "*".repeat(value.length);
  const keep = digits.slice(-4);
  return (value.startsWith("+") ? "+" : "") + "*".repeat(digits.length - 4) + keep;
}
