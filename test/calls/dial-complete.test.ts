/** src/calls/dial-complete.ts: what a <Dial action> callback means and what the caller gets next, without Hono. */
import { describe, expect, it } from "vitest";
import { classifyDial, dialActions, nextAfterDial, readAgentKey } from "../../src/calls/dial-complete.ts";

describe("classifyDial", () => {
  it.each([
    [{ status: "completed", sipCode: 200 }, { failed: false }],
    [{ status: "answered" }, { failed: false }],
    [{ status: "canceled", sipCode: 487 }, { failed: false }],
    [{}, { failed: false }],
    [{ status: "busy", sipCode: 486 }, { failed: true, reason: "dial_busy" }],
    [{ status: "no-answer", sipCode: 487 }, { failed: true, reason: "dial_no_answer" }],
    [{ status: "failed", sipCode: 503 }, { failed: true, reason: "dial_failed" }],
    [{ sipCode: 404 }, { failed: true, reason: "dial_sip_404" }],
    [{ status: "in-progress", sipCode: 480 }, { failed: true, reason: "dial_sip_480" }],
  ])("%j → %j", (report, expected) => {
    expect(classifyDial(report)).toEqual(expected);
  });
});

describe("nextAfterDial", () => {
  const failed = { failed: true, reason: "dial_busy" } as const;
  it.each([
    ["retell", { failed: false } as const, "+61390000000", { kind: "end" }],
    ["retell", failed, "+61390000000", { kind: "fallback", number: "+61390000000" }],
    ["retell", failed, undefined, { kind: "apology" }],
    ["fallback", failed, "+61390000000", { kind: "apology" }],
    ["fallback", { failed: false } as const, "+61390000000", { kind: "end" }],
  ] as const)("%s leg, %j, fallback %s → %j", (leg, result, fallback, expected) => {
    expect(nextAfterDial(leg, result, fallback)).toEqual(expected);
  });

  const voicemail = { greeting: "Leave a message.", maxSeconds: 60 };
  it.each([
    ["a failed AI leg with no fallback number takes a message", "retell", failed, undefined, { kind: "voicemail", voicemail }],
    ["a failed AI leg with a fallback number dials it first", "retell", failed, "+61390000000", { kind: "fallback", number: "+61390000000" }],
    ["a failed fallback takes a message", "fallback", failed, "+61390000000", { kind: "voicemail", voicemail }],
    ["a completed dial ends the call", "retell", { failed: false } as const, undefined, { kind: "end" }],
  ] as const)("with a voicemail box: %s", (_name, leg, result, fallback, expected) => {
    expect(nextAfterDial(leg, result, fallback, voicemail)).toEqual(expected);
  });
});

describe("readAgentKey", () => {
  it.each([
    ["+61341517921", "+61341517921"],
    ["agent:front-desk_1", "agent:front-desk_1"],
    ["+61 3 4151 7921", null],
    ["agent:", null],
    ["agent:../x", null],
    ["61341517921", null],
    [undefined, null],
  ])("%j → %j", (value, expected) => {
    expect(readAgentKey(value)).toBe(expected);
  });
});

describe("dialActions", () => {
  it("builds absolute URLs on the signed origin, the key encoded in the query", () => {
    expect(dialActions("https://calls.example.com:8443/api/webhooks/twilio?x=1", "+61341517921")).toEqual({
      retell: "https://calls.example.com:8443/api/webhooks/twilio/dial-complete?agent=%2B61341517921&leg=retell&end=1",
      fallback: "https://calls.example.com:8443/api/webhooks/twilio/dial-complete?agent=%2B61341517921&leg=fallback&end=1",
    });
  });
});
