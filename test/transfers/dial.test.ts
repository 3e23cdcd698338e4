/** The transfer's inline TwiML: well-formed, absolute URLs, under Twilio's 4,000 characters, no announcement in it. */
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { MAX_INLINE_TWIML_CHARS, transferTwiml, type TransferDial } from "../../src/transfers/dial.ts";

const DIAL: TransferDial = {
  destination: { name: "sales", target: "+61390000001", kind: "number" },
  index: 2,
  agent: { retellAgentId: "agent_a" },
  dialed: "+61341517921",
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

  it("shows the number the caller dialed when the agent sets no caller id, and leaves it out when that is no number", () => {
    expect(transferTwiml(DIAL)).toContain('callerId="+61341517921"');
    expect(transferTwiml({ ...DIAL, dialed: "client:alice" })).not.toContain("callerId");
  });
});
