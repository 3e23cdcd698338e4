/** The transfer's inline TwiML: well-formed, absolute URLs, under Twilio's 4,000 characters whatever the announcement. */
import { DOMParser } from "@xmldom/xmldom";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_ANNOUNCE_CHARS, MAX_INLINE_TWIML_CHARS, transferTwiml, type TransferDial } from "../../src/transfers/dial.ts";

const DIAL: TransferDial = {
  destination: { name: "sales", target: "+61390000001", kind: "number" },
  index: 2,
  agent: { retellAgentId: "agent_a" },
  dialed: "+61341517921",
  origin: "https://calls.example.com",
};

describe("transferTwiml", () => {
  it("stays under Twilio's 4,000 characters with the longest announcement of the widest characters", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: MAX_ANNOUNCE_CHARS, maxLength: MAX_ANNOUNCE_CHARS }), (announce) => {
        expect(transferTwiml({ ...DIAL, announce }).length).toBeLessThan(MAX_INLINE_TWIML_CHARS);
      }),
      { numRuns: 200 },
    );
    expect(transferTwiml({ ...DIAL, announce: "\u{10FFFF}".repeat(MAX_ANNOUNCE_CHARS / 2) }).length).toBeLessThan(MAX_INLINE_TWIML_CHARS);
    expect(transferTwiml({ ...DIAL, announce: "\u0800".repeat(MAX_ANNOUNCE_CHARS) }).length).toBeLessThan(MAX_INLINE_TWIML_CHARS);
  });

  it("uses absolute URLs for the action and the whisper, which carries the announcement exactly", () => {
    const announce = `A caller & "friend" <about> billing`;
    const doc = new DOMParser().parseFromString(transferTwiml({ ...DIAL, announce }), "text/xml");
    const action = doc.getElementsByTagName("Dial")[0]?.getAttribute("action");
    const url = doc.getElementsByTagName("Number")[0]?.getAttribute("url") ?? "";
    expect(action).toBe("https://calls.example.com/api/webhooks/twilio/transfer-complete?attempt=2");
    expect(new URL(url).origin + new URL(url).pathname).toBe("https://calls.example.com/api/webhooks/twilio/transfer-whisper");
    expect(new URL(url).searchParams.get("say")).toBe(announce);
  });

  it("shows the number the caller dialed when the agent sets no caller id, and leaves it out when that is no number", () => {
    expect(transferTwiml(DIAL)).toContain('callerId="+61341517921"');
    expect(transferTwiml({ ...DIAL, dialed: "client:alice" })).not.toContain("callerId");
  });
});
