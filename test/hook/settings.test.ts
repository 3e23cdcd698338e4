import { describe, expect, it } from "vitest";
import { parseAgentValue, serializeAgentConfig } from "../../src/agents/schema.ts";
import { DEFAULT_HOOK_TIMEOUT_MS, effectiveHook, hookTimeoutMs, MAX_HOOK_TIMEOUT_MS } from "../../src/hook/settings.ts";

const agent = (callHook: unknown) => parseAgentValue(JSON.stringify({ retellAgentId: "agent_abc", callHook }));

describe("an agent's callHook", () => {
  it.each([
    ["https", { url: "https://crm.example.com/retell/inbound" }],
    ["https with a timeout", { url: "https://crm.example.com/hook", timeoutMs: 1_000 }],
    ["http to 127.0.0.1", { url: "http://127.0.0.1:8788/hook" }],
    ["http to localhost", { url: "http://localhost:3000/hook", timeoutMs: MAX_HOOK_TIMEOUT_MS }],
  ])("accepts %s", (_name, callHook) => {
    const parsed = agent(callHook);
    expect(parsed.ok && parsed.agent.callHook).toEqual(callHook);
  });

  it("accepts null, which turns the default off, and stores it", () => {
    const parsed = agent(null);
    expect(parsed.ok && parsed.agent.callHook).toBeNull();
    if (parsed.ok) expect(serializeAgentConfig(parsed.agent)).toBe('{"retellAgentId":"agent_abc","callHook":null}');
  });

  it.each([
    ["a bare string", "https://crm.example.com", "callHook is not an object"],
    ["no url", {}, "callHook.url is not a URL"],
    ["plain http to another host", { url: "http://crm.example.com/hook" }, "callHook.url must be https://"],
    ["another scheme", { url: "ftp://crm.example.com/hook" }, "callHook.url must be https://"],
    ["a password in the URL", { url: "https://user:pw@crm.example.com/hook" }, "callHook.url must not carry a user name or password"],
    ["a fragment", { url: "https://crm.example.com/hook#x" }, "callHook.url must not have a #fragment"],
    ["a timeout over the maximum", { url: "https://crm.example.com", timeoutMs: 5_001 }, "callHook.timeoutMs"],
    ["a timeout in seconds", { url: "https://crm.example.com", timeoutMs: 2.5 }, "callHook.timeoutMs"],
    ["a timeout as a string", { url: "https://crm.example.com", timeoutMs: "2500" }, "callHook.timeoutMs"],
    ["an unknown field", { url: "https://crm.example.com", secret: "x" }, 'callHook has an unknown field "secret"'],
  ])("refuses %s, naming the field", (_name, callHook, detail) => {
    const parsed = agent(callHook);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.detail).toContain(detail);
  });
});

describe("the hook that applies", () => {
  it("is the agent's own over the default", () => {
    expect(effectiveHook({ url: "https://own.example.com" }, "https://default.example.com")).toEqual({ kind: "hook", hook: { url: "https://own.example.com" } });
  });

  it("is the default for an agent without one", () => {
    expect(effectiveHook(undefined, "https://default.example.com")).toEqual({ kind: "hook", hook: { url: "https://default.example.com" } });
  });

  it("is none for an agent with null, whatever the default", () => {
    expect(effectiveHook(null, "https://default.example.com")).toEqual({ kind: "none" });
  });

  it("is none without either", () => {
    expect(effectiveHook(undefined, "")).toEqual({ kind: "none" });
  });

  it("names CALL_HOOK_URL when the default is not https", () => {
    expect(effectiveHook(undefined, "http://crm.example.com")).toMatchObject({ kind: "invalid_default", detail: expect.stringContaining("CALL_HOOK_URL") });
  });

  it("waits the default timeout unless the agent names one", () => {
    expect(hookTimeoutMs({ url: "https://x.example.com" })).toBe(DEFAULT_HOOK_TIMEOUT_MS);
    expect(hookTimeoutMs({ url: "https://x.example.com", timeoutMs: 900 })).toBe(900);
  });
});
