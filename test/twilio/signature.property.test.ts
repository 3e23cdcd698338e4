/**
 * Property tests: the WebCrypto validator agrees with the official `twilio` package on random URLs and
 * parameter sets, accepts what Twilio signs, and rejects any single-character change.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { getExpectedTwilioSignature, validateRequest } from "twilio/lib/webhooks/webhooks.js";
import { isValidTwilioSignature } from "../../src/twilio/signature.ts";
import type { TwilioParams } from "../../src/twilio/params.ts";

const TOKEN = "property_test_token_0123456789ab";
const RUNS = 150;

/** Text as it shows up in URLs and form values: ASCII specials, spaces, +, %, quotes, unicode, emoji. */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom("a", "Z", "0", " ", "+", "%", "%20", "%2B", "'", '"', "&", "=", "?", "/", "#", "~", "é", "北", "👋", "\u00a0"),
    fc.string({ unit: "grapheme", maxLength: 1 }),
  ),
  maxLength: 12,
});
const name = fc.oneof(
  fc.constantFrom("CallSid", "Caller", "From", "To", "a", "B", "Digits", "SipHeader_x-y"),
  fc.string({ unit: fc.constantFrom("a", "b", "C", "_", "-", ".", "1", "é"), minLength: 1, maxLength: 8 }),
);
/** Parameters as a form body carries them: names may repeat, values may be empty. */
const params = fc.dictionary(name, fc.array(text, { minLength: 1, maxLength: 3 }), { maxKeys: 8 });

/** URLs an operator would configure, in the form the Worker receives them (WHATWG-serialised). */
const url = fc
  .record({
    scheme: fc.constantFrom("https", "http"),
    host: fc.constantFrom("bridge.example.com", "calls.example.org", "127.0.0.1", "x--y.workers.dev"),
    port: fc.constantFrom("", ":443", ":80", ":8787", ":1234"),
    path: fc.array(text, { maxLength: 3 }),
    query: fc.array(fc.tuple(text, text), { maxLength: 3 }),
  })
  .map(({ scheme, host, port, path, query }) => {
    const u = new URL(`${scheme}://${host}${port}/api/webhooks/twilio`);
    u.pathname += path.map(encodeURIComponent).map((p) => "/" + p).join("");
    for (const [k, v] of query) u.searchParams.append(k, v);
    return u.href;
  });

const toMap = (record: Record<string, string[]>): TwilioParams => new Map(Object.entries(record));

describe("against the official twilio package", () => {
  it("accepts every request signed with twilio's helper over the URL the Worker receives", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, async (u, p) => {
        const signature = getExpectedTwilioSignature(TOKEN, u, p);
        expect(await isValidTwilioSignature([TOKEN], signature, u, toMap(p))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts a request whose https URL was signed with or without an explicit :443", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.boolean(), async (u, p, withPort) => {
        fc.pre(u.startsWith("https://") && !/^https:\/\/[^/]+:\d+\//.test(u));
        const signed = withPort ? u.replace(/^(https:\/\/[^/]+)/, "$1:443") : u;
        const received = withPort ? u : u.replace(/^(https:\/\/[^/]+)/, "$1:443");
        const signature = getExpectedTwilioSignature(TOKEN, signed, p);
        expect(await isValidTwilioSignature([TOKEN], signature, received, toMap(p))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("agrees with twilio's validateRequest on any URL, parameters and signature", async () => {
    await fc.assert(
      fc.asyncProperty(url, url, params, fc.boolean(), async (signedUrl, receivedUrl, p, sameUrl) => {
        const received = sameUrl ? signedUrl : receivedUrl;
        const signature = getExpectedTwilioSignature(TOKEN, signedUrl, p);
        expect(await isValidTwilioSignature([TOKEN], signature, received, toMap(p))).toBe(validateRequest(TOKEN, signature, received, p));
      }),
      { numRuns: RUNS },
    );
  });
});

/** Replaces the character at `index` with one that is neither it nor a case variant of it. */
function mutate(value: string, index: number, replacement: string): string {
  const chars = [...value];
  const i = index % chars.length;
  const original = chars[i] as string;
  const swap = replacement.toLowerCase() === original.toLowerCase() ? (original === "q" ? "z" : "q") : replacement;
  chars[i] = swap;
  return chars.join("");
}
const replacement = fc.constantFrom("q", "7", "x", "_");

describe("any single-character change is rejected", () => {
  it("in a parameter value", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.nat(), fc.nat(), replacement, async (u, p, which, at, r) => {
        const names = Object.keys(p).filter((n) => p[n]!.some((v) => v.length > 0));
        fc.pre(names.length > 0);
        const n = names[which % names.length] as string;
        const values = p[n]!;
        const vi = values.findIndex((v) => v.length > 0);
        const signature = getExpectedTwilioSignature(TOKEN, u, p);
        const changed = { ...p, [n]: values.map((v, i) => (i === vi ? mutate(v, at, r) : v)) };
        expect(await isValidTwilioSignature([TOKEN], signature, u, toMap(changed))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("in a parameter name", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.nat(), fc.nat(), replacement, async (u, p, which, at, r) => {
        const names = Object.keys(p);
        fc.pre(names.length > 0);
        const n = names[which % names.length] as string;
        const renamed = mutate(n, at, r);
        fc.pre(!(renamed in p));
        const signature = getExpectedTwilioSignature(TOKEN, u, p);
        const changed = Object.fromEntries(Object.entries(p).map(([k, v]) => [k === n ? renamed : k, v]));
        expect(await isValidTwilioSignature([TOKEN], signature, u, toMap(changed))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("in the URL's path or query", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.nat(), replacement, async (u, p, at, r) => {
        const start = u.indexOf("/api/");
        const tail = u.slice(start + 1);
        // Only letters and digits: changing one of them changes every form of the URL Twilio's validators try.
        const positions = [...tail].flatMap((ch, i) => (/[A-Za-z0-9]/.test(ch) ? [i] : []));
        const pos = positions[at % positions.length] as number;
        const changed = u.slice(0, start + 1) + mutate(tail, pos, r);
        const signature = getExpectedTwilioSignature(TOKEN, u, p);
        expect(await isValidTwilioSignature([TOKEN], signature, changed, toMap(p))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("in the signature", async () => {
    await fc.assert(
      fc.asyncProperty(url, params, fc.nat(), fc.constantFrom("A", "b", "9", "+", "/", "="), async (u, p, at, r) => {
        const signature = getExpectedTwilioSignature(TOKEN, u, p);
        const i = at % signature.length;
        fc.pre(signature[i] !== r);
        const changed = signature.slice(0, i) + r + signature.slice(i + 1);
        expect(await isValidTwilioSignature([TOKEN], changed, u, toMap(p))).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });
});
