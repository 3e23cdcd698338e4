/**
 * src/rules/route-call.ts: reading the global blocklist beside the agent. It fails open, and says so in the log.
 * (Each rule's answer through the Worker is in test/routes/voice-rules.test.ts.)
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearAgentMemo } from "../../src/agents/lookup.ts";
import { BLOCKLIST_KEY } from "../../src/rules/blocklist.ts";
import { readBlocklist } from "../../src/rules/route-call.ts";

afterEach(() => {
  vi.restoreAllMocks();
  clearAgentMemo();
});

function loggedEvents(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls.map((c) => (JSON.parse(String(c[0])) as { event: string }).event);
}

describe("readBlocklist", () => {
  it("reads the stored patterns", async () => {
    await env.AGENTS.put(BLOCKLIST_KEY, '["+1900*","anonymous"]');
    expect(await readBlocklist(env.AGENTS)).toEqual(["+1900*", "anonymous"]);
  });

  it("is empty when there is no blocklist", async () => {
    expect(await readBlocklist({ get: () => Promise.resolve(null) } as unknown as KVNamespace)).toEqual([]);
  });

  it.each([
    ["KV fails", { get: () => Promise.reject(new Error("KV down")) }, "warn", "rules.blocklist_unreadable"],
    ["KV does not answer in time", { get: () => new Promise(() => {}) }, "warn", "rules.blocklist_unreadable"],
    ["the value is malformed", { get: () => Promise.resolve('{"blocked": "+1900*"}') }, "error", "rules.blocklist_invalid"],
  ] as const)("lets every call through when %s, and logs it", async (_name, kv, level, event) => {
    const spy = vi.spyOn(console, level);
    expect(await readBlocklist(kv as unknown as KVNamespace, 50)).toEqual([]);
    expect(loggedEvents(spy)).toContain(event);
  });
});
