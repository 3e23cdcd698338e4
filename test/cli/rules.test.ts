/**
 * `npm run rules` end to end: the real local store through wrangler for the format the Worker reads, and a
 * recording fake wrangler for the command's logic, which proves what was (and was not) read or written.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentValue } from "../../src/agents/schema.ts";
import { BLOCKLIST_KEY, parseBlocklist } from "../../src/rules/blocklist.ts";
import { cleanEnv, fakeWrangler, openLocalKv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

function fakeStore(kv: Record<string, string> = {}) {
  const fake = fakeWrangler({ kv });
  return { env: cleanEnv(fake.env), kv: () => fake.state().kv as Record<string, string>, commands: () => fake.calls().map((c) => c.slice(0, 3).join(" ")) };
}

const MAPPED = "+61341517921";
const AGENT = '{"retellAgentId":"agent_front","name":"Front desk"}';

describe("rules against the real local store", () => {
  const dir = tempDir("rules-real");
  let store: Awaited<ReturnType<typeof openLocalKv>>;
  beforeAll(async () => {
    store = await openLocalKv(dir);
  });
  afterAll(() => store.dispose());

  it("block writes the global blocklist as the Worker reads it", async () => {
    const result = await runCli("rules", ["block", "+1 900*", "Anonymous", "+61 400 000 666", "--local", "--persist-to", dir]);
    expect(result.code, result.output).toBe(0);
    const { [BLOCKLIST_KEY]: raw } = await store.read([BLOCKLIST_KEY]);
    expect(parseBlocklist(raw ?? null)).toEqual({ ok: true, patterns: ["+1900*", "anonymous", "+61400000666"] });
  });
});

describe.concurrent("rules command logic (fake wrangler store)", () => {
  it("block adds to the global blocklist, keeping what is there and skipping repeats", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["+1900*"]' });
    const result = await runCli("rules", ["block", "+1900*", "+44*", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("Blocked +1900*, +44* for every number");
    expect(store.kv()[BLOCKLIST_KEY]).toBe('["+1900*","+44*"]');
  });

  it("writes nothing when every pattern is blocked already", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["+1900*"]' });
    const result = await runCli("rules", ["block", "+1 900*", "--local"], store.env);
    expect(result.stdout).toContain("already blocked");
    expect(store.commands()).toEqual(["kv bulk get"]);
  });

  it("unblock removes patterns, and removing the last one deletes the key", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["+1900*","anonymous"]' });
    expect((await runCli("rules", ["unblock", "anonymous", "--local"], store.env)).code).toBe(0);
    expect(store.kv()[BLOCKLIST_KEY]).toBe('["+1900*"]');
    expect((await runCli("rules", ["unblock", "+1900*", "--local"], store.env)).code).toBe(0);
    expect(store.kv()).not.toHaveProperty(BLOCKLIST_KEY);
  });

  it("unblock of a pattern not on the list exits 1 and writes nothing", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["+1900*"]' });
    const result = await runCli("rules", ["unblock", "+1900*", "+44*", "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("+44* is not on the global blocklist (rules:blocked); nothing was written");
    expect(store.commands()).toEqual(["kv bulk get"]);
  });

  it("block --agent adds to that agent's blockedCallers and keeps its other fields", async () => {
    const store = fakeStore({ [MAPPED]: AGENT });
    const result = await runCli("rules", ["block", "anonymous", "--agent", "+61 3 4151 7921", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(parseAgentValue(store.kv()[MAPPED] as string)).toEqual({ ok: true, agent: { retellAgentId: "agent_front", name: "Front desk", blockedCallers: ["anonymous"] } });
    expect(store.kv()).not.toHaveProperty(BLOCKLIST_KEY);
  });

  it("allow --agent sets allowedCallers on an agent:<id> key, and disallowing the last one removes them", async () => {
    const store = fakeStore({ "agent:vip": AGENT });
    expect((await runCli("rules", ["allow", "+61412345678", "+61412345679", "--agent", "vip", "--local"], store.env)).code).toBe(0);
    expect(JSON.parse(store.kv()["agent:vip"] as string)).toMatchObject({ allowedCallers: ["+61412345678", "+61412345679"] });
    await runCli("rules", ["disallow", "+61412345678", "--agent", "agent:vip", "--local"], store.env);
    const last = await runCli("rules", ["disallow", "+61412345679", "--agent", "agent:vip", "--local"], store.env);
    expect(last.stderr).toContain("takes every caller again");
    expect(store.kv()["agent:vip"]).toBe(AGENT);
  });

  it("--agent on a number with no mapping exits 1 and writes nothing", async () => {
    const store = fakeStore();
    const result = await runCli("rules", ["block", "+1900*", "--agent", MAPPED, "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${MAPPED} has no mapping`);
    expect(store.commands()).toEqual(["kv bulk get"]);
  });

  it("refuses to change a malformed global blocklist, saying how to clear it", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: "+1900*" });
    const result = await runCli("rules", ["block", "+44*", "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("rules:blocked is not valid JSON");
    expect(result.stderr).toContain("kv key delete --binding AGENTS rules:blocked --local");
    expect(store.kv()[BLOCKLIST_KEY]).toBe("+1900*");
  });

  it("list prints the global blocklist and every agent with caller rules or hours", async () => {
    const store = fakeStore({
      [BLOCKLIST_KEY]: '["+1900*"]',
      [MAPPED]: '{"retellAgentId":"agent_front","blockedCallers":["anonymous"],"schedule":{"timeZone":"UTC","hours":{}}}',
      "+61341517922": "agent_plain",
    });
    const result = await runCli("rules", ["list", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("Global blocklist (rules:blocked): +1900*");
    expect(result.stdout).toMatch(/\+61341517921\s+anonymous\s+UTC/);
    expect(result.stdout).not.toContain("+61341517922");
    const json = await runCli("rules", ["list", "--json", "--local"], store.env);
    expect(JSON.parse(json.stdout)).toEqual({ blocked: ["+1900*"], agents: [{ key: MAPPED, blockedCallers: ["anonymous"], timeZone: "UTC" }] });
  });

  it("list exits 1 for a malformed global blocklist, saying the Worker ignores it", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["nope"]' });
    const result = await runCli("rules", ["list", "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('✗ invalid: rules:blocked[0] is not');
  });

  it("npm run agents leaves the rules key out of its mappings", async () => {
    const store = fakeStore({ [BLOCKLIST_KEY]: '["+1900*"]', [MAPPED]: "agent_front" });
    const result = await runCli("agents", ["list", "--json", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ mappings: [{ number: MAPPED, retellAgentId: "agent_front" }], invalid: [] });
  });
});

describe.concurrent("rules: bad input is a clear error and nothing is read or written", () => {
  it.each([
    ["a pattern that is neither number, prefix nor anonymous", ["block", "+1900*", "restricted", "0412*", "--local"], ['"restricted" is not an E.164 number', '"0412*" is not']],
    ["no pattern", ["block", "--local"], ["needs at least one <pattern>"]],
    ["allow without --agent", ["allow", "+61412345678", "--local"], ["needs --agent: allowed callers belong to one agent"]],
    ["an --agent that is no key", ["block", "+1900*", "--agent", "front desk", "--local"], ['--agent "front desk" is not']],
    ["no store flag", ["block", "+1900*"], ["needs --local or --remote"]],
    ["an unknown command", ["ban", "+1900*", "--local"], ['Unknown command "ban"']],
  ])("rejects %s (exit 2)", async (_name, args, messages) => {
    const fake = fakeWrangler();
    const result = await runCli("rules", args, cleanEnv(fake.env));
    expect(result.code, result.output).toBe(2);
    for (const message of messages) expect(result.stderr).toContain(message);
    expect(fake.calls()).toEqual([]);
  });
});
