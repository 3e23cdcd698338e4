/** src/calls/announce.ts and the AI leg's TwiML (calls/outcome.ts): the consent notice before the dial, escaped. */
import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { announceTwiml } from "../../src/calls/announce.ts";
import { connectedOutcome, outcomeTwiml } from "../../src/calls/outcome.ts";
import { twimlDocument } from "../../src/twilio/twiml.ts";

const HOSTILE = `Thanks</Say><Dial><Number>+19005550100</Number></Dial><Say a="'&amp;">\u0000\r\n`;

const parse = (xml: string) => new DOMParser({ onError: (_l, message) => { throw new Error(message); } }).parseFromString(xml, "text/xml");

describe("announceTwiml", () => {
  it("says the text in the voice and language given", () => {
    expect(announceTwiml({ text: "This call is recorded.", voice: "Polly.Joanna", language: "en-US" })).toBe(
      '<Say voice="Polly.Joanna" language="en-US">This call is recorded.</Say>',
    );
  });

  it("plays a URL", () => {
    expect(announceTwiml({ url: "https://example.com/notice.mp3?a=1&b=2" })).toBe("<Play>https://example.com/notice.mp3?a=1&amp;b=2</Play>");
  });

  it("keeps hostile text as the one Say's text: no element of its own reaches the document", () => {
    const doc = parse(twimlDocument(announceTwiml({ text: HOSTILE })));
    const response = doc.documentElement;
    expect(response?.childNodes.length).toBe(1);
    expect(response?.getElementsByTagName("Dial").length).toBe(0);
    expect(response?.getElementsByTagName("Say")[0]?.textContent).toBe(HOSTILE.replace("\u0000", ""));
  });
});

describe("the AI leg's TwiML", () => {
  const connected = connectedOutcome("call_abc", "sip.retellai.com");

  it("plays the notice before the Dial, and caps the leg with timeLimit", () => {
    const twiml = outcomeTwiml(connected, { retell: "https://x.example/r", fallback: "https://x.example/f" }, { announce: { text: "Recorded." }, timeLimit: 600 });
    expect(twiml).toBe(
      '<Say>Recorded.</Say><Dial answerOnBridge="true" action="https://x.example/r" timeLimit="600"><Sip>sip:call_abc@sip.retellai.com;transport=tcp</Sip></Dial>',
    );
  });

  it("has no notice and no timeLimit (Twilio's default) when the agent sets neither", () => {
    expect(outcomeTwiml(connected)).toBe('<Dial answerOnBridge="true"><Sip>sip:call_abc@sip.retellai.com;transport=tcp</Sip></Dial>');
  });

  it("plays no notice for an outcome that does not reach the agent", () => {
    expect(outcomeTwiml({ kind: "retell_failed", reason: "retell_unavailable" }, undefined, { announce: { text: "Recorded." } })).not.toContain("Recorded.");
  });
});
