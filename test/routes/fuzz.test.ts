/**
 * Fuzzing every route with hostile and broken requests: random methods, bodies, content types, encodings
 * (invalid percent-escapes, invalid UTF-8, NUL bytes), headers and sizes. Whatever arrives, the Worker
 * never answers 5xx, never calls Retell or stores a record without a valid signature, and always answers within
 * Twilio's budget.
 */
import { env } from "cloudflare:workers";
import { listDurableObjectIds } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { retellRequests, twilioRequest, uniqueAgentId, uniqueNumber, ORIGIN, worker } from "../helpers.ts";

/** Twilio gives up on a webhook after 15 s (its hard upper timeout); an answer must come well before. */
const TWILIO_BUDGET_MS = 15_000;
const RUNS = 120;

const ROUTES = [
  "/api/webhooks/twilio",
  "/api/webhooks/twilio/front-desk",
  "/api/webhooks/twilio/status",
  "/api/webhooks/twilio/dial-complete",
  "/api/webhooks/twilio/transfer-complete?attempt=0",
  "/api/webhooks/twilio/transfer-whisper?say=hi",
  "/api/webhooks/retell",
  "/api/webhooks/retell/transfer",
  "/api/calls",
  "/api/stats",
  "/health",
  "/",
  "/api/webhooks/twilio/%00",
  "/api/webhooks/twilio/..%2F..%2Fetc",
];

const fuzzNumber = uniqueNumber();
const fuzzAgent = uniqueAgentId("fuzz");

beforeAll(async () => {
  await env.AGENTS.put(fuzzNumber, fuzzAgent);
  await env.AGENTS.put("agent:front-desk", fuzzAgent);
});

const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 512 }),
  fc.constant(new Uint8Array([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe, 0x00])), // invalid UTF-8 and a NUL
  fc.constant(new TextEncoder().encode("CallSid=%ZZ&From=%&To=%E0%A4%A")), // invalid percent-escapes
  fc.constant(new TextEncoder().encode(`CallSid=CA1&From=%2B14155550100&To=${encodeURIComponent(fuzzNumber)}`)), // plausible, unsigned
  fc.constant(new TextEncoder().encode('{"event":"call_ended","call":{"call_id":"call_x"}}')),
  fc.constant(new Uint8Array(70 * 1024).fill(0x61)), // over the 64 KiB limit
);
const contentType = fc.constantFrom(
  undefined,
  "application/x-www-form-urlencoded",
  "application/x-www-form-urlencoded; charset=utf-8",
  "APPLICATION/X-WWW-FORM-URLENCODED",
  "application/json",
  "text/xml",
  "multipart/form-data; boundary=----x",
  "application/x-www-form-urlencoded\u0000",
  "",
);
const header = fc.tuple(
  fc.constantFrom("X-Twilio-Signature", "x-retell-signature", "Authorization", "Content-Encoding", "I-Twilio-Idempotency-Token", "X-Forwarded-Proto", "Host"),
  fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("Bearer ", "Bearer x", "v=1,d=00", "gzip", "http", "A".repeat(4000))),
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"),
  route: fc.constantFrom(...ROUTES),
  query: fc.constantFrom("", "?a=1", "?agent=%2B61390000000", "?%", "?x=%E0%A4%A"),
  body: bytes,
  contentType,
  headers: fc.array(header, { maxLength: 4 }),
});

/** Header values a real client could send: what the fetch API accepts. */
function safeHeaders(pairs: [string, string][]): Headers {
  const headers = new Headers();
  for (const [name, value] of pairs) {
    try {
      headers.set(name, value);
    } catch {
      // The client could not have sent this value either (e.g. a newline in a header).
    }
  }
  return headers;
}

describe("hostile and broken requests", () => {
  it("never get a 5xx, never reach Retell or the call records, and are answered within Twilio's budget", async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = safeHeaders(r.headers);
        if (r.contentType !== undefined) {
          try {
            headers.set("Content-Type", r.contentType);
          } catch {
            // not sendable
          }
        }
        const hasBody = r.method !== "GET" && r.method !== "HEAD";
        const started = Date.now();
        const res = await worker(new Request(ORIGIN + r.route + r.query, { method: r.method, headers, body: hasBody ? r.body : undefined }));
        await res.arrayBuffer();
        expect(res.status, `${r.method} ${r.route}${r.query}`).toBeLessThan(500);
        expect(Date.now() - started).toBeLessThan(TWILIO_BUDGET_MS);
        expect(res.headers.get("X-Powered-By")).toBeNull();
      }),
      { numRuns: RUNS },
    );
    expect(await retellRequests(fuzzAgent)).toHaveLength(0);
    // Storage is per test file and this test runs first in it: no unsigned request reached a line's object
    // (where every record starts) or left a record behind.
    expect(await listDurableObjectIds(env.LINES)).toEqual([]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM calls").first("n")).toBe(0);
  });

  it("a validly signed voice webhook with random parameters gets TwiML or a 400, never a 5xx", async () => {
    const param = fc.string({ unit: fc.constantFrom("a", "+", "%", " ", "\u0000", "é", "👋", "&", "=", "<"), maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom("CallSid", "From", "To", "AccountSid", "Digits", "CallerName", "Note"), param),
        async (params) => {
          const res = await worker(twilioRequest("/api/webhooks/twilio", params));
          const text = await res.text();
          expect([200, 400]).toContain(res.status);
          if (res.status === 200) expect(text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response>.*<\/Response>$/s);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
