/**
 * Property: whatever `args` the model sends, the only numbers and URIs ever dialed are the agent's own `transfers`
 * (toll fraud: a destination in the request is never dialed). Each run is a fresh call through the Worker's entry
 * point; every call update the Twilio stand-in receives is read back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callUpdates, dialedTargets, SALES, SUPPORT, transfer, transferCall, TRANSFERS } from "../transfers.ts";

const CONFIGURED = new Set(Object.values(TRANSFERS));

/** What a model (or someone steering it) might send as a destination. */
const destination = fc.oneof(
  fc.constantFrom("sales", "SALES", "Support", " sales ", "sales\n", "sales;support"),
  fc.constantFrom(SALES, SUPPORT, "+19005550100", "sip:attacker@evil.example.com", "tel:+19005550100", "<Number>+19005550100</Number>", "sales</Number><Number>+19005550100"),
  fc.string({ maxLength: 40 }),
  fc.stringMatching(/^\+[1-9]\d{6,14}$/),
);

/** Any args object: the two known fields with any JSON, plus fields a model might add. */
const args = fc.record(
  {
    destination: fc.oneof(destination, fc.jsonValue()),
    announce: fc.oneof(fc.string({ maxLength: 320 }), fc.constantFrom("</Say><Dial>+19005550100</Dial>", '" url="https://evil.example.com'), fc.jsonValue()),
    number: fc.stringMatching(/^\+[1-9]\d{6,14}$/),
    to: fc.constantFrom("+19005550100", "sip:attacker@evil.example.com"),
  },
  { requiredKeys: [] },
);

describe("a transfer request with any args", () => {
  it("dials nothing but a destination from the agent's transfers, and that one only when it was named", async () => {
    let transferred = 0;
    await fc.assert(
      fc.asyncProperty(args, async (sent) => {
        const call = await transferCall();
        const { status } = await transfer(call, sent);
        expect([200, 400]).toContain(status);
        const dialed = (await callUpdates(call.sid)).flatMap((u) => (u.form.Twiml ?? []).flatMap(dialedTargets));
        for (const target of dialed) expect(CONFIGURED.has(target)).toBe(true);
        const named = typeof sent.destination === "string" ? sent.destination.trim().toLowerCase() : undefined;
        if (dialed.length > 0) expect(dialed).toEqual([TRANSFERS[named as keyof typeof TRANSFERS]]);
        if (dialed.length > 0) transferred++;
      }),
      // Random args name a configured destination only now and then: two runs always do, so some run dials.
      { numRuns: 40, examples: [[{ destination: "sales" }], [{ destination: " Support ", announce: "</Say><Dial>+19005550100</Dial>" }]] },
    );
    // The property is about what is dialed: some runs must have dialed something.
    expect(transferred).toBeGreaterThan(0);
  }, 60_000);
});
