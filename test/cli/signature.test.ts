import { describe, expect, it } from "vitest";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { formBody, twilioSignature } from "../../cli/lib/signature.ts";

const P = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };

describe("twilioSignature (node:crypto, as Twilio signs)", () => {
  it("reproduces Twilio's published test vector", () => {
    expect(twilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", P)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
  });

  it.each([
    ["a voice webhook", "https://bridge.example.com/api/webhooks/twilio", { ...P, BridgeDryRun: "1" }],
    ["names that sort case-sensitively", "https://x.example/a", { a: "1", B: "2", CallSid: "3", Caller: "4" }],
    ["repeated names (each distinct value, sorted)", "https://x.example/a", { Digits: ["9", "1", "9"], To: "+1" }],
    ["unicode and form-special characters", "https://x.example/a?q=1", { CallerName: "Zoë & Ögrün + 100% =", From: "client:alice" }],
    ["an empty value", "http://127.0.0.1:8787/api/webhooks/twilio", { ForwardedFrom: "", To: "+61341517921" }],
  ])("matches twilio-node's getExpectedTwilioSignature for %s", (_, url, params) => {
    expect(twilioSignature("tok_" + url.length, url, params)).toBe(getExpectedTwilioSignature("tok_" + url.length, url, params));
  });

  it("encodes the body with every value of a repeated name", () => {
    expect(formBody({ To: "+61341517921", Digits: ["1", "2"] })).toBe("To=%2B61341517921&Digits=1&Digits=2");
  });
});
