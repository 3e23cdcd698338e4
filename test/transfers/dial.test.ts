/** The transfer's inline TwiML: well-formed, absolute URLs, under Twilio's 4,000 characters, no announcement in it. */
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { MAX_INLINE_TWIML_CHARS, ourNumber, transferTwiml, type TransferDial } from "../../src/transfers/dial.ts";

const DIAL: TransferDial = {
  destination: { name: "sales", target: "+61390000001", kind: "number" },
  index: 2,
  agent: { retellAgentId: "agent_a" },
  ourNumber: "+61341517921",
  origin: "https://calls.example.com",
};

describe("transferTwiml", () => {
  it("stays under Twilio's 4,000 characters with the longest SIP destination and a whisper", () => {
    const sip = { name: "desk", target: `sip:${"a".repeat(64)}@${"b".repeat(180)}.example.com`, kind: "sip" as const };
    expect(transferTwiml({ ...DIAL, destination: sip, whisper: { line: "+61341517921", id: crypto.randomUUID() } }).length).toBeLessThan(MAX_INLINE_TWIML_CHARS);
  });

  it("uses absolute URLs for the action and the whisper, which names only the line and the announcement's opaque id", () => {
    const id = crypto.randomUUID();
    const doc = new DOMParser().parseFromString(transferTwiml({ ...DIAL, whisper: { line: "+61341517921", id } }), "text/xml");
    const action = doc.getElementsByTagName("Dial")[0]?.getAttribute("action");
    const url = doc.getElementsByTagName("Number")[0]?.getAttribute("url") ?? "";
    expect(action).toBe("https://calls.example.com/api/webhooks/twilio/transfer-complete?attempt=2&end=1");
    expect(new URL(url).origin + new URL(url).pathname).toBe("https://calls.example.com/api/webhooks/twilio/transfer-whisper");
    expect(Object.fromEntries(new URL(url).searchParams)).toEqual({ line: "+61341517921", whisper: id, end: "1" });
  });

  it("shows our number when the agent sets no caller id, and leaves it out when that is no number", () => {
    expect(transferTwiml(DIAL)).toContain('callerId="+61341517921"');
    expect(transferTwiml({ ...DIAL, ourNumber: "client:alice" })).not.toContain("callerId");
  });
});

describe("ourNumber", () => {
  it.each([
    ["the number the caller dialed on an inbound call", "inbound", "+61341517921"],
    ["the number we called from on an outbound call, never the callee's", "outbound", "+61341517999"],
  ] as const)("is %s", (_name, direction, expected) => {
    expect(ourNumber({ direction, from: direction === "inbound" ? "+14155550100" : "+61341517999", to: direction === "inbound" ? "+61341517921" : "+14155550100" })).toBe(expected);
  });
});
