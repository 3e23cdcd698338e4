/** `npm run doctor`'s test request to each pre-call hook (cli/lib/hooks.ts), against the hook stand-in. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentConfig } from "../../src/agents/schema.ts";
import { checkHooks, hookTargets, TEST_CALLER } from "../../cli/lib/hooks.ts";
import { startHookStandIn, type HookBehaviour, type HookStandIn } from "../../stand-ins/hook.ts";

const SECRET = `whsec_${Buffer.from("doctor test signing secret, 32 b").toString("base64")}`;
let stand: HookStandIn;
let n = 0;

beforeAll(async () => {
  stand = await startHookStandIn({ secret: SECRET });
});
afterAll(() => stand.close());

function hook(behaviour: HookBehaviour): { name: string; url: string } {
  const name = `doctor${++n}`;
  stand.setBehaviour(name, behaviour);
  return { name, url: `${stand.url}/hooks/${name}` };
}

describe("the doctor's hook check", () => {
  it("sends each hook one signed test request from +15005550006 and reports the latency and the parsed answer", async () => {
    const h = hook({ answer: { call_inbound: { dynamic_variables: { customer_name: "Ada" } } } });
    const agents = new Map<string, AgentConfig>([
      ["+61341517921", { retellAgentId: "agent_a", callHook: { url: h.url } }],
      ["+61341517922", { retellAgentId: "agent_b", callHook: { url: h.url } }],
    ]);
    const { targets } = hookTargets(agents, undefined);
    const [check] = await checkHooks(targets, { primary: SECRET });
    expect(check).toMatchObject({ ok: true, text: expect.stringMatching(/\(\+61341517921, \+61341517922\) answered the test request in \d+ ms \(HTTP 200\); its answer parses: sets dynamic_variables/) });
    const requests = stand.requests.filter((r) => r.hook === h.name);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.verified).toBe(true);
    expect(requests[0]?.body).toMatchObject({ event: "call_inbound", test: true, call_inbound: { agent_id: "agent_a", from_number: TEST_CALLER, to_number: "+61341517921" } });
  });

  it.each<[string, HookBehaviour, string, string]>([
    ["an error status", { status: 500 }, "answered HTTP 500", "hook server's log"],
    ["a signature it cannot verify", { status: 401 }, "answered HTTP 401", "WEBHOOK_SIGNING_SECRET"],
    ["a redirect", { mode: "redirect" }, "redirect (HTTP 307)", "final URL"],
    ["an answer that does not parse", { answer: { call_inbound: { reject: "yes" } } }, "does not parse (reject is not true or false)", "Retell's shape"],
  ])("fails a hook that answers %s, with a fix", async (_name, behaviour, text, fix) => {
    const h = hook(behaviour);
    const { targets } = hookTargets(new Map([["+61341517921", { retellAgentId: "agent_a", callHook: { url: h.url } }]]), undefined);
    const [check] = await checkHooks(targets, { primary: SECRET });
    expect(check).toMatchObject({ ok: false, text: expect.stringContaining(text), fix: expect.stringContaining(fix) });
  });

  it("fails a hook that takes longer than its timeout", async () => {
    const h = hook({ mode: "hang" });
    const { targets } = hookTargets(new Map([["+61341517921", { retellAgentId: "agent_a", callHook: { url: h.url, timeoutMs: 200 } }]]), undefined);
    const [check] = await checkHooks(targets, { primary: SECRET });
    expect(check).toMatchObject({ ok: false, text: expect.stringContaining("did not answer within its 200 ms") });
  });

  it("uses CALL_HOOK_URL for agents without a hook of their own, and none for agents with callHook null", () => {
    const agents = new Map<string, AgentConfig>([
      ["+61341517921", { retellAgentId: "agent_a" }],
      ["+61341517922", { retellAgentId: "agent_b", callHook: null }],
    ]);
    expect(hookTargets(agents, "https://crm.example.com/hook").targets).toEqual([{ hook: { url: "https://crm.example.com/hook" }, keys: ["+61341517921"], agent: { retellAgentId: "agent_a" } }]);
    expect(hookTargets(agents, "http://crm.example.com/hook")).toMatchObject({ targets: [], invalidDefault: expect.stringContaining("CALL_HOOK_URL") });
  });

  it("refuses to send anything without a valid signing secret", async () => {
    const h = hook({});
    const { targets } = hookTargets(new Map([["+61341517921", { retellAgentId: "agent_a", callHook: { url: h.url } }]]), undefined);
    await expect(checkHooks(targets, { primary: "whsec_short" })).rejects.toThrow("WEBHOOK_SIGNING_SECRET");
    expect(stand.requests.filter((r) => r.hook === h.name)).toHaveLength(0);
  });
});
