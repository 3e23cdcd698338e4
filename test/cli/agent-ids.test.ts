/**
 * `npm run agents` takes every shape of Retell agent id the Worker serves (the shared schema, src/agents/schema.ts):
 * `agent_…`, the older 32 letters and digits without prefix, and any other of letters, digits, `_` and `-`; and it
 * refuses values that cannot be ids, naming the field, before anything is read or written.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRetellStandIn, type RetellStandIn } from "../../stand-ins/retell.ts";
import { RETELL_KEY, cleanEnv, fakeWrangler, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

/** Retell's API reference's own example of an agent id in the older shape. */
const LEGACY_ID = "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD";
const IDS = [LEGACY_ID, "agent_front_desk_2", "agent-north"];

/** A KV store emulated by the fake wrangler, which records every call it gets. */
function fakeStore(kv: Record<string, string> = {}) {
  const fake = fakeWrangler({ kv });
  return { env: cleanEnv(fake.env), kv: () => fake.state().kv as Record<string, string>, calls: fake.calls };
}

function file(name: string, text: string): string {
  const path = join(tempDir("ids"), name);
  writeFileSync(path, text);
  return path;
}

describe.concurrent("agent ids the CLI accepts", () => {
  it.each(IDS)("add stores %s as the bare value the Worker reads", async (id) => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", id, "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(store.kv()).toEqual({ "+61341517921": id });
  });

  it("import stores every shape, from CSV and from JSON", async () => {
    const store = fakeStore();
    const csv = file("ids.csv", `number,retellAgentId\n+61341517921,${LEGACY_ID}\n+61341517922,agent_front_desk_2\n`);
    const json = file("ids.json", JSON.stringify({ "+61341517923": "agent-north", "+61341517924": { retellAgentId: LEGACY_ID, name: "Old" } }));
    for (const path of [csv, json]) {
      const result = await runCli("agents", ["import", path, "--local"], store.env);
      expect(result.code, result.output).toBe(0);
    }
    expect(store.kv()).toEqual({
      "+61341517921": LEGACY_ID,
      "+61341517922": "agent_front_desk_2",
      "+61341517923": "agent-north",
      "+61341517924": `{"retellAgentId":"${LEGACY_ID}","name":"Old"}`,
    });
  });

  it("list shows a stored id in the older shape as valid", async () => {
    const store = fakeStore({ "+61341517921": LEGACY_ID });
    const result = await runCli("agents", ["list", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`\\+61341517921\\s+${LEGACY_ID}`));
    expect(result.output).not.toContain("invalid");
  });
});

describe.concurrent("values that cannot be agent ids are refused, naming the field, and nothing is read or written", () => {
  it.each([
    ["a phone number", "+61390001234", "<retellAgentId>: looks like a phone number, not a Retell agent id"],
    ["a phone number without +", "0390001234", "<retellAgentId>: looks like a phone number, not a Retell agent id"],
    ["a space", "agent_front desk", "<retellAgentId>: has characters a Retell agent id never has"],
    ["a colon", "agent:front", "<retellAgentId>: has characters a Retell agent id never has"],
    ["a slash", "agents/agent_a", "<retellAgentId>: has characters a Retell agent id never has"],
  ])("add with %s (exit 2)", async (_name, id, message) => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", id, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(message);
    expect(store.calls()).toEqual([]);
  });

  it("import with a phone number pasted as the agent id names the file, line and field (exit 2)", async () => {
    const store = fakeStore();
    const path = file("pasted.csv", `number,retellAgentId\n+61341517921,${LEGACY_ID}\n+61341517922,+61341517922\n`);
    const result = await runCli("agents", ["import", path, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(`${path}:3: retellAgentId: looks like a phone number, not a Retell agent id`);
    expect(store.calls()).toEqual([]);
  });
});

describe("--check with an id in the older shape", () => {
  let retell: RetellStandIn;
  beforeAll(async () => {
    retell = await startRetellStandIn({ apiKey: RETELL_KEY });
  });
  afterAll(() => retell.close());

  it("asks Retell for that agent and writes the mapping", async () => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", LEGACY_ID, "--check", "--local"], { ...store.env, RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url });
    expect(result.code, result.output).toBe(0);
    expect(retell.requests.filter((r) => r.method === "GET").map((r) => r.path)).toEqual([`/get-agent/${LEGACY_ID}`]);
    expect(store.kv()).toEqual({ "+61341517921": LEGACY_ID });
  });
});
