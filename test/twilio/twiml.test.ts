import { DOMParser } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { dialNumber, dialSip, escapeXml, reject, sayAndHangUp, twimlDocument } from "../../src/twilio/twiml.ts";

const parse = (xml: string) => new DOMParser({ onError: (_l, message) => { throw new Error(message); } }).parseFromString(xml, "text/xml");

describe("escapeXml", () => {
  it.each([
    ["&", "&amp;"],
    ["<Hangup/>", "&lt;Hangup/&gt;"],
    [`"quoted" 'single'`, "&quot;quoted&quot; &apos;single&apos;"],
    ["plain text", "plain text"],
  ])("escapes %j as %j", (input, expected) => {
    expect(escapeXml(input)).toBe(expected);
  });

  it("drops characters XML 1.0 cannot carry", () => {
    expect(escapeXml("a\u0000b\u0008c\uFFFEd\uD800e")).toBe("abcde");
  });
});

describe("TwiML documents", () => {
  it("dials a SIP URI with answerOnBridge, escaping the URI", () => {
    const xml = twimlDocument(dialSip("sip:call_1@sip.retellai.com;transport=tcp?x-a=1&x-b=2"));
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Dial answerOnBridge="true"><Sip>sip:call_1@sip.retellai.com;transport=tcp?x-a=1&amp;x-b=2</Sip></Dial></Response>',
    );
    expect(parse(xml).getElementsByTagName("Sip")[0]?.textContent).toBe("sip:call_1@sip.retellai.com;transport=tcp?x-a=1&x-b=2");
  });

  it("escapes attribute values", () => {
    const xml = twimlDocument(dialNumber("+61390000000", { action: 'https://x.example/a?b=1&c="2"' }));
    expect(parse(xml).getElementsByTagName("Dial")[0]?.getAttribute("action")).toBe('https://x.example/a?b=1&c="2"');
  });

  it("keeps markup in a message as text", () => {
    const xml = twimlDocument(sayAndHangUp("</Say><Dial>+19005550000</Dial><Say>"));
    const doc = parse(xml);
    expect(doc.getElementsByTagName("Dial")).toHaveLength(0);
    expect(doc.getElementsByTagName("Say")[0]?.textContent).toBe("</Say><Dial>+19005550000</Dial><Say>");
  });

  it("rejects a call unanswered with reason rejected, the not-in-service message", () => {
    const reason = parse(twimlDocument(reject())).getElementsByTagName("Reject")[0]?.getAttribute("reason");
    expect(reason).toBe("rejected");
  });
});
