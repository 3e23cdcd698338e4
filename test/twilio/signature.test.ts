import { describe, expect, it } from "vitest";
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import { candidateUrls, computeSignature, isValidTwilioSignature, signedPayload } from "../../src/twilio/signature.ts";
import { parseForm, type TwilioParams } from "../../src/twilio/params.ts";

const toParams = (record: Record<string, string | string[]>): TwilioParams =>
  new Map(Object.entries(record).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]));

/** The parameters of twilio-node's, twilio-python's and twilio-csharp's validation tests. */
const P = { CallSid: "CA1234567890ABCDE", Caller: "+14158675309", Digits: "1234", From: "+14158675309", To: "+18005551212" };

// Vectors from the official SDKs' test suites (see shared/reference/twilio-retell-protocols.md §1.5), token 12345.
describe("Twilio's published signatures are accepted", () => {
  it.each([
    ["basic", "https://mycompany.com/myapp.php?foo=1&bar=2", P, "RSOYDt4T1cUTdK1PDd93/VVr8B8="],
    ["https URL with a port, signed without it", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", P, "RSOYDt4T1cUTdK1PDd93/VVr8B8="],
    ["http URL with a port, signed with it", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", P, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="],
    ["https URL signed with :443 added", "https://mycompany.com/myapp.php?foo=1&bar=2", P, "kvajT1Ptam85bY51eRf/AJRuM3w="],
    ["http URL signed with :80 added", "http://mycompany.com/myapp.php?foo=1&bar=2", P, "0ZXoZLH/DfblKGATFgpif+LLRf4="],
    ["URL with credentials", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", P, "CukzLTc1tT5dXEDIHm/tKBanW10="],
    ["URL with a user name only", "https://user@mycompany.com/myapp.php?foo=1&bar=2", P, "2YRLlVAflCqxaNicjMpJcSTgzSs="],
    ["URL with credentials, signed with :443", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2", P, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="],
    ["special characters in the query", "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing", P, "TfZzewPq8wqrGlMfyAud8+/IvJ0="],
    ["mixed-case host kept as is", "https://MyCompany.com/myapp.php?foo=1&bar=2", P, "g9IN/x4Cft2g517EjYvEvM/W7LU="],
    ["mixed-case host with a port", "https://MyCompany.com:1234/myapp.php?foo=1&bar=2", P, "PCqOZm8cnu/L6+u5i5fuEd+Iac4="],
    ["upper-case scheme", "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2", P, "hy/l8pca+LFms4cvRdv8uiP6NGc="],
    ["https URL signed with its custom port", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", P, "CYn1h0gLBdNxDGkKJg6hYohgeD8="],
    ["repeated parameter values (deduplicated, sorted)", "https://mycompany.com/myapp.php?foo=1&bar=2", { Sid: "CA123", SidAccount: "AC123", Digits: ["5678", "1234", "1234"] }, "IK+Dwps556ElfBT0I3Rgjkr1wJU="],
    ["array parameter", "https://mycompany.com/myapp.php?foo=1&bar=2", { "MessagingBinding.Address": ["+1415xxxxxxx", "+1325xxxxxxx"] }, "83O6e2vORAoJHUNzJjDWN1jz+BA="],
  ])("%s", async (_name, url, params, signature) => {
    expect(await isValidTwilioSignature(["12345"], signature, url, toParams(params))).toBe(true);
  });

  it("accepts the worked example of Twilio's security page, whose signed string it reproduces", async () => {
    const params = toParams({ Digits: "1234", To: "+18005551212", From: "+14158675310", Caller: "+14158675310", CallSid: "CA1234567890ABCDE" });
    const url = "https://example.com/myapp.php?foo=1&bar=2";
    expect(signedPayload(url, params)).toBe(
      "https://example.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675310Digits1234From+14158675310To+18005551212",
    );
    expect(await isValidTwilioSignature(["12345"], "L/OH5YylLD5NRKLltdqwSvS0BnU=", url, params)).toBe(true);
  });
});

describe("signatures computed with WebCrypto match twilio-node's helper", () => {
  it.each([
    ["an empty value", { CallSid: "CA1", ForwardedFrom: "", To: "+15005550006" }, "Jv7FmTvXI+JYSQ1iwu0YyJoY5kM="],
    ["unicode", { CallerName: "José Müller 北京", CallSid: "CA1" }, "FIQS4EMOPgYfvp/TJQPvX1ns1MM="],
    ["an emoji", { Body: "hi 👋", CallSid: "CA1" }, "jRhZWwVSsLJvrYbgnvbEasRMJ9Q="],
    ["case-sensitive name order", { a: "1", B: "2", Caller: "x", CallSid: "y" }, "Y8rcXPMw+fBYOKL0d1NGUEY+xko="],
    ["repeated names", { Digits: ["5678", "1234", "1234"], Sid: "CA123" }, "0NGay2JLxl4diJ4qNG4CI8HWKGE="],
    ["decoded + and spaces", { From: "+14155551212", Note: "a b+c" }, "Ry/D1OcKmurm7dvnpSLkq3WtuP8="],
  ])("with %s", async (_name, params, expected) => {
    const url = "https://example.com/voice";
    expect(await computeSignature("12345", url, toParams(params))).toBe(expected);
    expect(getExpectedTwilioSignature("12345", url, params)).toBe(expected);
  });
});

describe("forged or altered requests are rejected", () => {
  const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

  it.each([
    ["no signature", undefined],
    ["an empty signature", ""],
    ["a wrong signature", "WRONG_SIGNATURE"],
    ["the signature with its last character changed", good.slice(0, -2) + "9="],
    ["the signature with whitespace around it", ` ${good}`],
  ])("%s", async (_name, signature) => {
    expect(await isValidTwilioSignature(["12345"], signature, url, toParams(P))).toBe(false);
  });

  it("rejects a changed query string", async () => {
    const signature = getExpectedTwilioSignature("s3cr3t", "https://example.com/path?test=param", {});
    expect(await isValidTwilioSignature(["s3cr3t"], signature, "https://example.com/path?test=param2", new Map())).toBe(false);
  });

  it("rejects a changed parameter value", async () => {
    expect(await isValidTwilioSignature(["12345"], good, url, toParams({ ...P, To: "+18005551213" }))).toBe(false);
  });

  it("rejects an added parameter", async () => {
    expect(await isValidTwilioSignature(["12345"], good, url, toParams({ ...P, Extra: "" }))).toBe(false);
  });

  it("rejects a signature made with another auth token", async () => {
    expect(await isValidTwilioSignature(["54321"], good, url, toParams(P))).toBe(false);
  });
});

describe("auth-token rotation", () => {
  it("accepts a signature made with the secondary token", async () => {
    const signature = getExpectedTwilioSignature("secondary", "https://example.com/voice", P);
    expect(await isValidTwilioSignature(["primary", "secondary"], signature, "https://example.com/voice", toParams(P))).toBe(true);
  });
});

describe("URL forms", () => {
  it("ignores a connection-override fragment, which Twilio leaves out of the signature", async () => {
    const signature = getExpectedTwilioSignature("12345", "https://example.com/voice", P);
    expect(await isValidTwilioSignature(["12345"], signature, "https://example.com/voice#rc=2&rp=all", toParams(P))).toBe(true);
  });

  it("accepts a query escaped differently from how it was signed ('  vs %27)", async () => {
    const signature = getExpectedTwilioSignature("s3cr3t", "https://example.com/path?x=param'WithQuote", {});
    expect(await isValidTwilioSignature(["s3cr3t"], signature, "https://example.com/path?x=param%27WithQuote", new Map())).toBe(true);
  });

  it.each([
    ["with a non-standard port", "https://example.com:8443/voice?a=1", ["https://example.com:8443/voice?a=1", "https://example.com/voice?a=1"]],
    ["without a port", "https://example.com/voice?a=1", ["https://example.com/voice?a=1", "https://example.com:443/voice?a=1"]],
  ])("tries the URL as received first, then without and with its port (%s)", (_name, url, expected) => {
    expect([...candidateUrls(url)].slice(0, 2)).toEqual(expected);
  });
});

describe("form parameters", () => {
  it("decodes + as a space and percent-escapes, as Twilio signs the decoded values", () => {
    const params = parseForm("From=%2B14155551212&Note=a+b%2Bc");
    expect(params.get("From")).toEqual(["+14155551212"]);
    expect(params.get("Note")).toEqual(["a b+c"]);
  });

  it("keeps every value of a repeated name", () => {
    expect(parseForm("Digits=1&Digits=2").get("Digits")).toEqual(["1", "2"]);
  });
});
