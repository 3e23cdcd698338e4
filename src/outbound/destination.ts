/**
 * Where an outbound call may go (POST /api/calls): a number in one of the allowed countries
 * (OUTBOUND_ALLOWED_COUNTRIES, else the calling number's own country), never a premium-rate number, never a
 * non-geographic code (satellite phones, international networks and premium rate, which belong to no country).
 * The tables come from libphonenumber's metadata (phone-ranges.generated.ts, docs/outbound-permissions.md).
 * Plain TypeScript shared with the CLI (`doctor` and `deploy` check the var with it).
 */
import { CALLING_CODES, NON_GEOGRAPHIC_CODES, PREMIUM_RATE_NUMBERS, SHARED_CODE_NUMBERS } from "./phone-ranges.generated.ts";

/** ISO 3166-1 alpha-2 codes separated by commas (spaces allowed), such as `AU,NZ`. */
const COUNTRY_CODE = /^[A-Z]{2}$/;

const KNOWN_COUNTRIES = new Set(Object.values(CALLING_CODES).flat());
const compiled = new Map<string, RegExp>();
function fullMatch(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) compiled.set(source, (re = new RegExp(`^(?:${source})$`)));
  return re;
}

/** An E.164 number's calling code and national number, or null when no code is assigned (ITU codes are prefix-free). */
function split(e164: string): { code: string; national: string } | null {
  const digits = e164.startsWith("+") ? e164.slice(1) : e164;
  for (const length of [1, 2, 3]) {
    const code = digits.slice(0, length);
    if (Object.hasOwn(CALLING_CODES, code) || NON_GEOGRAPHIC_CODES.includes(code)) return { code, national: digits.slice(length) };
  }
  return null;
}

/**
 * The number's country (ISO 3166-1 alpha-2), or null for a non-geographic or unassigned code, or a number of a
 * shared code that none of its countries has (an unassigned NANP area code, say): as libphonenumber decides it.
 */
export function countryOf(e164: string): string | null {
  const parts = split(e164);
  const countries = parts && Object.hasOwn(CALLING_CODES, parts.code) ? CALLING_CODES[parts.code] : undefined;
  if (!parts || !countries || countries.length === 0) return null;
  if (countries.length === 1) return countries[0] ?? null;
  return countries.find((country) => {
    const numbers = SHARED_CODE_NUMBERS[country];
    return numbers !== undefined && fullMatch(numbers).test(parts.national);
  }) ?? null;
}

export type DestinationCheck = { ok: true; country: string } | { ok: false; reason: "non_geographic" | "premium_rate" | "country_not_allowed"; message: string };

/** Whether an outbound call may dial `to`, given the allowed countries. */
export function checkDestination(to: string, allowed: ReadonlySet<string>): DestinationCheck {
  const parts = split(to);
  if (parts && NON_GEOGRAPHIC_CODES.includes(parts.code)) {
    return { ok: false, reason: "non_geographic", message: `to is in +${parts.code}, a non-geographic code (satellite, international network or premium rate): such numbers are never called` };
  }
  const country = countryOf(to);
  if (country === null || !allowed.has(country)) {
    const list = [...allowed].join(", ");
    return { ok: false, reason: "country_not_allowed", message: `to is ${country === null ? "in no country" : `in ${country}`}, which OUTBOUND_ALLOWED_COUNTRIES does not allow (allowed: ${list || "none"})` };
  }
  const premium = PREMIUM_RATE_NUMBERS[country];
  if (premium && parts && fullMatch(premium).test(parts.national)) {
    return { ok: false, reason: "premium_rate", message: `to is a premium-rate number in ${country}: such numbers are never called` };
  }
  return { ok: true, country };
}

export type CountriesRead = { ok: true; countries: ReadonlySet<string> } | { ok: false; message: string };

/**
 * OUTBOUND_ALLOWED_COUNTRIES, or when it is empty, the calling number's own country. A code that is not a
 * country is refused (a cost control must not fall open on a typo).
 */
export function allowedCountries(value: string | undefined, from: string | null): CountriesRead {
  const text = value?.trim() ?? "";
  if (text === "") {
    const own = from === null ? null : countryOf(from);
    return own === null ? { ok: true, countries: new Set() } : { ok: true, countries: new Set([own]) };
  }
  const countries = new Set<string>();
  for (const part of text.split(",")) {
    const code = part.trim().toUpperCase();
    if (!COUNTRY_CODE.test(code) || !KNOWN_COUNTRIES.has(code)) {
      return { ok: false, message: `OUTBOUND_ALLOWED_COUNTRIES must be ISO 3166-1 alpha-2 country codes separated by commas, such as AU,NZ; ${JSON.stringify(part.trim())} is not one` };
    }
    countries.add(code);
  }
  return { ok: true, countries };
}
