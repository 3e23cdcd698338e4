/**
 * Where an outbound call may go: the country of a number, premium-rate and non-geographic numbers, and the
 * allowlist var. The tables are generated from libphonenumber's metadata, so they are checked against
 * libphonenumber-js itself (its country and number type for the same numbers).
 */
import { describe, expect, it } from "vitest";
import examples from "libphonenumber-js/examples.mobile.json";
import { getCountryCallingCode, parsePhoneNumber, type CountryCode } from "libphonenumber-js/max";
import { allowedCountries, checkDestination, countryOf } from "../../src/outbound/destination.ts";

describe("countryOf", () => {
  it.each([
    ["+14155550100", "US"],
    ["+14165550123", "CA"],
    ["+12685551234", "AG"],
    ["+18765551234", "JM"],
    ["+61412345678", "AU"],
    ["+6421234567", "NZ"],
    ["+442071234567", "GB"],
    ["+447797123456", "JE"],
    ["+77012345678", "KZ"],
    ["+79123456789", "RU"],
  ])("gives %s as %s", (number, country) => {
    expect(countryOf(number)).toBe(country);
  });

  it("agrees with libphonenumber-js on every country's example mobile number", () => {
    const disagreements = Object.entries(examples as Record<string, string>)
      .map(([country, national]) => `+${getCountryCallingCode(country as CountryCode)}${national}`)
      .filter((number) => countryOf(number) !== (parsePhoneNumber(number).country ?? null));
    expect(disagreements).toEqual([]);
  });

  it.each(["+8816123456789", "+870773123456", "+979123456789", "+80012345678"])("gives no country for the non-geographic %s", (number) => {
    expect(countryOf(number)).toBeNull();
  });
});

describe("checkDestination", () => {
  const AU_US = new Set(["AU", "US"]);

  it("allows a number in an allowed country", () => {
    expect(checkDestination("+61412345678", AU_US)).toEqual({ ok: true, country: "AU" });
  });

  it.each([
    ["+12685551234", "AG, a Caribbean country in +1"],
    ["+6421234567", "NZ"],
  ])("refuses %s (%s), a country not on the list", (number) => {
    expect(checkDestination(number, AU_US)).toMatchObject({ ok: false, reason: "country_not_allowed" });
  });

  it.each(["+19005551234", "+611900123456"])("refuses the premium-rate number %s, which libphonenumber-js calls PREMIUM_RATE", (number) => {
    expect(parsePhoneNumber(number).getType()).toBe("PREMIUM_RATE");
    expect(checkDestination(number, AU_US)).toMatchObject({ ok: false, reason: "premium_rate" });
  });

  it.each(["+8816123456789", "+870773123456", "+882161234567", "+979123456789"])("refuses the non-geographic %s whatever the list", (number) => {
    expect(checkDestination(number, new Set(["AU", "US", "GB"]))).toMatchObject({ ok: false, reason: "non_geographic" });
  });

  it("refuses every number when no country is allowed", () => {
    expect(checkDestination("+61412345678", new Set())).toMatchObject({ ok: false, reason: "country_not_allowed" });
  });
});

describe("allowedCountries", () => {
  it("reads ISO 3166-1 alpha-2 codes separated by commas, in any case, with spaces", () => {
    expect(allowedCountries(" au, NZ ", "+61390000000")).toEqual({ ok: true, countries: new Set(["AU", "NZ"]) });
  });

  it("defaults to the calling number's own country", () => {
    expect(allowedCountries("", "+14155550100")).toEqual({ ok: true, countries: new Set(["US"]) });
    expect(allowedCountries(undefined, "+61390000000")).toEqual({ ok: true, countries: new Set(["AU"]) });
  });

  it.each(["AUS", "XX", "AU;NZ", "AU,,NZ"])("refuses %s", (value) => {
    expect(allowedCountries(value, "+61390000000")).toMatchObject({ ok: false, message: expect.stringContaining("OUTBOUND_ALLOWED_COUNTRIES") });
  });
});
