/** src/outbound/request.ts: POST /api/calls's body, field by field, without Hono. */
import { describe, expect, it } from "vitest";
import { MAX_VOICEMAIL_CHARS, readOutboundRequest } from "../../src/outbound/request.ts";

const BASE = { to: "+14155550100", from: "+61341517921" };

describe("readOutboundRequest", () => {
  it("reads the smallest request: the agent under from, no variables, detection off", () => {
    expect(readOutboundRequest(BASE)).toEqual({
      ok: true,
      request: { to: "+14155550100", from: "+61341517921", agentKey: "+61341517921", dynamicVariables: {}, metadata: {}, machineDetection: "off" },
    });
  });

  it("normalises both numbers as everywhere else", () => {
    expect(readOutboundRequest({ to: "+1 (415) 555-0100", from: "+61 3 4151 7921" })).toMatchObject({ request: { to: "+14155550100", from: "+61341517921" } });
  });

  it("takes the agent under agent:<agentId> when agentId is given", () => {
    expect(readOutboundRequest({ ...BASE, agentId: "reminders" })).toMatchObject({ request: { agentKey: "agent:reminders" } });
  });

  it("keeps the voicemail message with message detection", () => {
    expect(readOutboundRequest({ ...BASE, machineDetection: "message", voicemailMessage: "Call us back." })).toMatchObject({ request: { machineDetection: "message", voicemailMessage: "Call us back." } });
  });

  it.each([
    ["body", null],
    ["body", []],
    ["to", { from: BASE.from }],
    ["from", { to: BASE.to, from: 61341517921 }],
    ["to", { ...BASE, to: BASE.from }],
    ["agentId", { ...BASE, agentId: "" }],
    ["dynamicVariables", { ...BASE, dynamicVariables: { a: null } }],
    ["dynamicVariables", { ...BASE, dynamicVariables: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`v${i}`, "x"])) }],
    ["dynamicVariables", { ...BASE, dynamicVariables: { long: "x".repeat(1_001) } }],
    ["metadata", { ...BASE, metadata: [1] }],
    ["machineDetection", { ...BASE, machineDetection: "DetectMessageEnd" }],
    ["voicemailMessage", { ...BASE, machineDetection: "message", voicemailMessage: "   " }],
    ["voicemailMessage", { ...BASE, machineDetection: "message", voicemailMessage: "x".repeat(MAX_VOICEMAIL_CHARS + 1) }],
    ["voicemailMessage", { ...BASE, machineDetection: "hangup", voicemailMessage: "Hi" }],
    ["To", { ...BASE, To: "+14155550100" }],
  ])("names %s as the field at fault in %j", (field, body) => {
    expect(readOutboundRequest(body)).toMatchObject({ ok: false, field });
  });
});
