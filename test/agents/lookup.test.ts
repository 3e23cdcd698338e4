import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { agentKey, clearAgentMemo, lookupAgent } from "../../src/agents/lookup.ts";
import { uniqueNumber } from "../helpers.ts";

/** A KV namespace whose reads fail the way a KV outage would. */
function brokenKv(get: () => Promise<string | null>): KVNamespace {
  return { get } as unknown as KVNamespace;
}

beforeEach(() => clearAgentMemo());

describe("agentKey", () => {
  it.each([
    [{ to: "+61 3 4151-7921" }, "+61341517921"],
    [{ to: "client:alice" }, null],
    [{ agentId: "front-desk", to: "+61341517921" }, "agent:front-desk"],
    [{ agentId: "../etc", to: "+61341517921" }, null],
  ])("for %j is %s", (route, expected) => {
    expect(agentKey(route)).toBe(expected);
  });
});

describe("lookupAgent", () => {
  it("finds the agent stored under the number", async () => {
    const number = uniqueNumber();
    await env.AGENTS.put(number, "agent_found1");
    expect(await lookupAgent(env.AGENTS, number)).toEqual({ ok: true, key: number, agent: { retellAgentId: "agent_found1" } });
  });

  it("reports a number with no entry as agent_not_found", async () => {
    expect(await lookupAgent(env.AGENTS, uniqueNumber())).toMatchObject({ ok: false, reason: "agent_not_found" });
  });

  it("reports a malformed value as agent_config_invalid, with the reason", async () => {
    const number = uniqueNumber();
    await env.AGENTS.put(number, '{"retellAgentId": ');
    expect(await lookupAgent(env.AGENTS, number)).toMatchObject({ ok: false, reason: "agent_config_invalid", detail: "value is not valid JSON" });
  });

  it("reports a KV error as agent_lookup_failed instead of throwing", async () => {
    const kv = brokenKv(() => Promise.reject(new Error("KV GET failed: 503")));
    expect(await lookupAgent(kv, "+61341517921")).toMatchObject({ ok: false, reason: "agent_lookup_failed", detail: "KV GET failed: 503" });
  });

  it("gives up on a KV read that does not answer in time", async () => {
    const kv = brokenKv(() => new Promise(() => {}));
    expect(await lookupAgent(kv, "+61341517921", 50)).toMatchObject({ ok: false, reason: "agent_lookup_failed" });
  });

  it("serves a repeated lookup from the isolate's memo without another KV read", async () => {
    let reads = 0;
    const kv = brokenKv(async () => {
      reads++;
      return "agent_memo1";
    });
    await lookupAgent(kv, "+61341517922");
    await lookupAgent(kv, "+61341517922");
    expect(reads).toBe(1);
  });
});
