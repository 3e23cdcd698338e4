/** Property tests: whatever string reaches TwiML, the document is well-formed XML and its text round-trips. */
import { DOMParser } from "@xmldom/xmldom";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { dialNumber, dialSip, sayAndHangUp, twimlDocument } from "../../src/twilio/twiml.ts";

/** What XML 1.0 can carry (its Char production); anything else is dropped by escapeXml by design. */
const xmlText = (s: string) => s.replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "");

function parse(xml: string) {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, message) => void errors.push(`${level}: ${message}`) }).parseFromString(xml, "text/xml");
  expect(errors).toEqual([]);
  return doc;
}

/** Any UTF-16 string: markup, entities, quotes, control characters, lone surrogates. */
const anything = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: fc.constantFrom("<", ">", "&", '"', "'", "&amp;", "]]>", "<![CDATA[", "\u0000", "\uD800", "\uFFFE", "a", " ") }),
);

describe("TwiML with arbitrary values", () => {
  it.each([
    ["a Retell call id in a SIP URI", (s: string) => dialSip(`sip:${s}@sip.retellai.com`), "Sip", (s: string) => `sip:${s}@sip.retellai.com`],
    ["a fallback number", (s: string) => dialNumber(s), "Number", (s: string) => s],
    ["a message", (s: string) => sayAndHangUp(s), "Say", (s: string) => s],
  ])("%s stays well-formed and round-trips", (_name, build, element, expected) => {
    fc.assert(
      fc.property(anything, (value) => {
        const doc = parse(twimlDocument(build(value)));
        expect(doc.documentElement?.nodeName).toBe("Response");
        const nodes = doc.getElementsByTagName(element);
        expect(nodes).toHaveLength(1);
        expect(nodes[0]?.textContent).toBe(xmlText(expected(value)));
      }),
      { numRuns: 300 },
    );
  });

  it("an attribute value stays well-formed and round-trips", () => {
    fc.assert(
      fc.property(anything, (value) => {
        const doc = parse(twimlDocument(dialNumber("+61390000000", { action: value })));
        expect(doc.getElementsByTagName("Dial")[0]?.getAttribute("action")).toBe(xmlText(value));
      }),
      { numRuns: 300 },
    );
  });
});
