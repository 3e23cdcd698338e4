/** src/records/endpoints.ts: the `webhooks` KV schema shared by the Worker and the CLI, and which endpoint takes which event. */
import { describe, expect, it } from "vitest";
import { endpointWants, parseEndpoints, validateEndpoint, type WebhookEndpoint } from "../../src/records/endpoints.ts";

describe("validateEndpoint", () => {
  it.each<[string, unknown]>([
    ["an http URL off loopback", { id: "a", url: "http://hooks.example.com/x" }],
    ["a URL with credentials", { id: "a", url: "https://u:p@hooks.example.com/x" }],
    ["a URL with a fragment", { id: "a", url: "https://hooks.example.com/x#y" }],
    ["not a URL", { id: "a", url: "hooks" }],
    ["an upper-case id", { id: "CRM", url: "https://hooks.example.com/x" }],
    ["an unknown event type", { id: "a", url: "https://hooks.example.com/x", events: ["call.ringing"] }],
    ["an empty events list", { id: "a", url: "https://hooks.example.com/x", events: [] }],
    ["an agent that is no KV key", { id: "a", url: "https://hooks.example.com/x", agents: ["front desk"] }],
    ["an unknown format", { id: "a", url: "https://hooks.example.com/x", format: "svix" }],
    ["events on a retell-format endpoint", { id: "a", url: "https://hooks.example.com/x", format: "retell", events: ["call.ended"] }],
    ["an unknown field", { id: "a", url: "https://hooks.example.com/x", secret: "whsec_x" }],
    ["enabled as a string", { id: "a", url: "https://hooks.example.com/x", enabled: "no" }],
  ])("refuses %s", (_name, value) => {
    expect(validateEndpoint(value).ok).toBe(false);
  });

  it("normalises agents to their KV keys and leaves defaults out", () => {
    expect(validateEndpoint({ id: "a", url: "http://localhost:9000/x", agents: ["+61 3 4151 7921", "agent:front"], enabled: true, format: "standard" })).toEqual({
      ok: true,
      endpoint: { id: "a", url: "http://localhost:9000/x", agents: ["+61341517921", "agent:front"] },
    });
  });

  it("refuses two endpoints with one id, and a value that is not JSON", () => {
    expect(parseEndpoints('[{"id":"a","url":"https://a.example.com"},{"id":"a","url":"https://b.example.com"}]')).toMatchObject({ ok: false });
    expect(parseEndpoints("{")).toMatchObject({ ok: false });
    expect(parseEndpoints(null)).toEqual({ ok: true, endpoints: [] });
  });
});

describe("endpointWants", () => {
  const all: WebhookEndpoint = { id: "all", url: "https://a.example.com" };
  it.each<[string, WebhookEndpoint, { kind: "standard" | "retell"; type: string; agentKey: string | null }, boolean]>([
    ["every event by default", all, { kind: "standard", type: "call.ended", agentKey: "+61341517921" }, true],
    ["not Retell's bodies on a standard endpoint", all, { kind: "retell", type: "retell.call_ended", agentKey: null }, false],
    ["Retell's bodies on a retell endpoint", { ...all, format: "retell" }, { kind: "retell", type: "retell.transcript_updated", agentKey: null }, true],
    ["not our events on a retell endpoint", { ...all, format: "retell" }, { kind: "standard", type: "call.ended", agentKey: null }, false],
    ["only its event types", { ...all, events: ["call.analyzed"] }, { kind: "standard", type: "call.ended", agentKey: null }, false],
    ["only its agents", { ...all, agents: ["+61341517921"] }, { kind: "standard", type: "call.ended", agentKey: "+61341510000" }, false],
    ["no call of unknown agent on an agent-narrowed endpoint", { ...all, agents: ["+61341517921"] }, { kind: "standard", type: "call.ended", agentKey: null }, false],
    ["nothing when turned off", { ...all, enabled: false }, { kind: "standard", type: "call.ended", agentKey: null }, false],
  ])("%s", (_name, endpoint, event, wanted) => {
    expect(endpointWants(endpoint, event)).toBe(wanted);
  });
});
