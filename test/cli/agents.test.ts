/**
 * `npm run agents` end to end: real local KV through wrangler in temp folders, read back with raw wrangler;
 * bad input against a recording fake wrangler, which proves nothing was read or written.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAgentValue } from "../../src/agents/schema.ts";
import { startRetellStandIn, type RetellStandIn } from "../../stand-ins/retell.ts";
import { RETELL_KEY, cleanEnv, fakeWrangler, openLocalKv, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

const local = (dir: string) => ["--local", "--persist-to", dir];

/** A store emulated by the fake wrangler: fast, for the CLI's own logic (the real-store tests are above each). */
function fakeStore(kv: Record<string, string> = {}) {
  const fake = fakeWrangler({ kv });
  return { env: cleanEnv(fake.env), kv: () => fake.state().kv as Record<string, string>, calls: fake.calls };
}

describe("agents against the real local store (wrangler, one temp folder, distinct numbers per test)", () => {
  const dir = tempDir("real");
  let store: Awaited<ReturnType<typeof openLocalKv>>;
  beforeAll(async () => {
    store = await openLocalKv(dir);
  });
  afterAll(() => store.dispose());

  it("add normalizes the number and writes the JSON value the Worker reads", async () => {
    const result = await runCli("agents", ["add", "+61 3 4151-7901", "agent_abc123", "--name", "Front desk", "--fallback", "+61 400 000 000", "--version", "4", "--var", "clinic=North", ...local(dir)]);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("Added +61341517901 → agent_abc123");
    expect(result.output).toContain(`local KV store (binding AGENTS, in ${dir})`);
    const { "+61341517901": value } = await store.read(["+61341517901"]);
    expect(value).toBe('{"retellAgentId":"agent_abc123","retellAgentVersion":4,"name":"Front desk","fallbackNumber":"+61400000000","dynamicVariables":{"clinic":"North"}}');
    expect(parseAgentValue(value as string)).toEqual({ ok: true, agent: { retellAgentId: "agent_abc123", retellAgentVersion: 4, name: "Front desk", fallbackNumber: "+61400000000", dynamicVariables: { clinic: "North" } } });
  });

  it("remove deletes the mapping and reports what it was", async () => {
    await store.seed({ "+61341517911": "agent_abc123", "+61341517912": "agent_keep1" });
    const result = await runCli("agents", ["remove", "+61341517911", ...local(dir)]);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toContain("Removed +61341517911 (was agent_abc123)");
    expect(await store.read(["+61341517911", "+61341517912"])).toEqual({ "+61341517911": null, "+61341517912": "agent_keep1" });
  });

  it("import writes a CSV with quoted fields and variable columns in one bulk write", async () => {
    const file = join(tempDir("csv"), "numbers.csv");
    writeFileSync(file, 'number,retellAgentId,name,fallbackNumber,retellAgentVersion,var.clinic\r\n+61 3 4151 7921,agent_a1,"Front desk, ""North""",+61400000000,2,North\r\n+1 415 555 0100,agent_b2,,,,\r\n');
    const result = await runCli("agents", ["import", file, ...local(dir)]);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("Import: 2 done, 0 skipped, 0 failed (of 2)");
    expect(await store.read(["+61341517921", "+14155550100"])).toEqual({
      "+61341517921": '{"retellAgentId":"agent_a1","retellAgentVersion":2,"name":"Front desk, \\"North\\"","fallbackNumber":"+61400000000","dynamicVariables":{"clinic":"North"}}',
      "+14155550100": "agent_b2",
    });
  });

  it("export writes every mapping as JSON that import accepts and stores unchanged", async () => {
    const values = { "+61341517931": "agent_a1", "+61341517932": '{"retellAgentId":"agent_b2","name":"B","metadata":{"team":"ops"}}', "agent:front_desk": "agent_c3" };
    await store.seed(values);
    const file = join(tempDir("export"), "backup.json");
    const exported = await runCli("agents", ["export", file, ...local(dir)]);
    expect(exported.code, exported.output).toBe(0);
    const backup = JSON.parse(readFileSync(file, "utf8")) as { number: string }[];
    expect(backup.map((m) => m.number)).toEqual(expect.arrayContaining(Object.keys(values)));
    const target = fakeStore();
    const imported = await runCli("agents", ["import", file, "--local"], target.env);
    expect(imported.code, imported.output).toBe(0);
    expect(target.kv()).toMatchObject(values);
  });

  it("an import with one bad row leaves the store exactly as it was", async () => {
    await store.seed({ "+61341517941": "agent_keep1" });
    const before = await store.keys();
    const file = join(tempDir("atomic"), "numbers.csv");
    writeFileSync(file, "number,retellAgentId\n+61341517942,agent_new2\n+61 3 4151 7941,agent_new3\n12345,agent_new4\n");
    const result = await runCli("agents", ["import", file, ...local(dir)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:4: number: "12345" is not an E.164 phone number`);
    expect(result.stderr).toContain("nothing was written");
    expect(await store.keys()).toEqual(before);
    expect(await store.read(["+61341517941"])).toEqual({ "+61341517941": "agent_keep1" });
  });
});

describe.concurrent("agents command logic (fake wrangler store)", () => {
  it("stores a bare agent id when there is nothing else, as the raw wrangler recipe in docs/configuration.md does", async () => {
    const store = fakeStore();
    expect((await runCli("agents", ["add", "+61341517921", "agent_abc123", "--local"], store.env)).code).toBe(0);
    expect(store.kv()).toEqual({ "+61341517921": "agent_abc123" });
  });

  it("passes --local, --persist-to and the binding to every wrangler call", async () => {
    const store = fakeStore();
    await runCli("agents", ["add", "+61341517921", "agent_abc123", "--local", "--persist-to", "/tmp/state-x"], store.env);
    const calls = store.calls();
    expect(calls.length).toBe(2);
    for (const call of calls) expect(call.join(" ")).toMatch(/--binding AGENTS .*--local --persist-to \/tmp\/state-x/);
  });

  it("passes --remote and says it touched the remote namespace", async () => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", "agent_abc123", "--remote"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(store.calls().every((c) => c.includes("--remote") && !c.includes("--local"))).toBe(true);
    expect(result.stdout).toContain("remote KV namespace on Cloudflare (binding AGENTS");
  });

  it("says when an update replaces a mapping, and show prints its fields", async () => {
    const store = fakeStore({ "+61341517921": '{"retellAgentId":"agent_old1","fallbackNumber":"+61400000000"}' });
    const update = await runCli("agents", ["add", "+61341517921", "agent_new2", "--name", "Sales", "--local"], store.env);
    expect(update.stdout).toContain("Updated +61341517921 → agent_new2");
    expect(update.stdout).toContain("(was agent_old1  fallback +61400000000)");
    const show = await runCli("agents", ["show", "+61 3 4151 7921", "--local"], store.env);
    expect(show.code, show.output).toBe(0);
    expect(show.stdout).toMatch(/agent:\s+agent_new2 \(latest version\)/);
    expect(show.stdout).toMatch(/name:\s+Sales/);
  });

  it("add --hook stores the agent's call hook as the Worker reads it, and show prints it", async () => {
    const store = fakeStore();
    const add = await runCli("agents", ["add", "+61341517921", "agent_abc123", "--hook", "https://crm.example.com/retell", "--hook-timeout", "1500", "--local"], store.env);
    expect(add.code, add.output).toBe(0);
    expect(parseAgentValue(store.kv()["+61341517921"] ?? "")).toEqual({ ok: true, agent: { retellAgentId: "agent_abc123", callHook: { url: "https://crm.example.com/retell", timeoutMs: 1500 } } });
    const show = await runCli("agents", ["show", "+61341517921", "--local"], store.env);
    expect(show.stdout).toMatch(/call hook:\s+https:\/\/crm\.example\.com\/retell \(1500 ms\)/);
  });

  it("add --hook none turns the default hook off for the number", async () => {
    const store = fakeStore();
    expect((await runCli("agents", ["add", "+61341517921", "agent_abc123", "--hook", "none", "--local"], store.env)).code).toBe(0);
    expect(store.kv()).toEqual({ "+61341517921": '{"retellAgentId":"agent_abc123","callHook":null}' });
  });

  it.each([
    ["plain http to another host", ["--hook", "http://crm.example.com/retell"], "--hook: callHook.url must be https://"],
    ["a timeout over 5 s", ["--hook", "https://crm.example.com/retell", "--hook-timeout", "9000"], "--hook: callHook.timeoutMs"],
    ["a timeout without a hook", ["--hook-timeout", "1000"], "--hook-timeout: needs --hook <url>"],
  ])("add refuses %s, naming the flag, and writes nothing", async (_name, flags, message) => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", "agent_abc123", ...flags, "--local"], store.env);
    expect(result.code).toBe(2);
    expect(result.output).toContain(message);
    expect(store.calls()).toHaveLength(0);
  });

  it("import stores an agent's transfers as the Worker reads them, and show prints them", async () => {
    const store = fakeStore();
    const file = join(tempDir("transfers"), "numbers.json");
    writeFileSync(file, JSON.stringify([{ number: "+61341517921", retellAgentId: "agent_a1", transfers: { sales: "+61 3 9000 0001", support: "sip:desk@pbx.example.com" }, transferTimeoutSeconds: 30 }]));
    const result = await runCli("agents", ["import", file, "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(parseAgentValue(store.kv()["+61341517921"] ?? "")).toEqual({
      ok: true,
      agent: { retellAgentId: "agent_a1", transfers: { sales: "+61390000001", support: "sip:desk@pbx.example.com" }, transferTimeoutSeconds: 30 },
    });
    const show = await runCli("agents", ["show", "+61341517921", "--local"], store.env);
    expect(show.stdout).toMatch(/transfers:\s+sales → \+61390000001, support → sip:desk@pbx\.example\.com \(rings 30 s, caller id the number dialed\)/);
  });

  it("writes nothing when the mapping is already stored as given", async () => {
    const store = fakeStore({ "+61341517921": "agent_abc123" });
    const result = await runCli("agents", ["add", "+61341517921", "agent_abc123", "--local"], store.env);
    expect(result.stdout).toContain("already maps to agent_abc123");
    expect(store.calls().map((c) => c.slice(0, 3).join(" "))).toEqual(["kv bulk get"]);
  });

  it.each([["show"], ["remove"]])("%s of an unmapped number exits 1 and says so", async (command) => {
    const store = fakeStore({ "+61341517922": "agent_keep1" });
    const result = await runCli("agents", [command, "+61341517921", "--local"], store.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("+61341517921 has no mapping in the local KV store");
    expect(store.kv()).toEqual({ "+61341517922": "agent_keep1" });
  });

  it("lists every mapping and flags a value the Worker would reject", async () => {
    const store = fakeStore({ "+61341517921": "agent_abc123", "+61341517922": '{"retellAgentId":"agent_b2","dynamicVariables":{"tier":"gold"}}', "+61341517923": "not an agent" });
    const result = await runCli("agents", ["list", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).toMatch(/\+61341517921\s+agent_abc123/);
    expect(result.stdout).toMatch(/\+61341517922\s+agent_b2.*tier=gold/);
    expect(result.stdout).toMatch(/\+61341517923\s+✗ invalid: value is not a JSON object, and as a bare retellAgentId it has characters/);
    expect(result.stderr).toContain("2 mapping(s), 1 invalid");
  });

  it("import skips rows already stored as they are and counts them", async () => {
    const store = fakeStore({ "+61341517921": "agent_a1" });
    const file = join(tempDir("skip"), "numbers.json");
    writeFileSync(file, JSON.stringify({ "+61341517921": "agent_a1", "+61341517922": "agent_b2" }));
    const result = await runCli("agents", ["import", file, "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("Import: 1 done, 1 skipped, 0 failed (of 2)");
    expect(result.stderr).toMatch(/– \+61341517921\s+unchanged/);
    expect(store.kv()).toEqual({ "+61341517921": "agent_a1", "+61341517922": "agent_b2" });
  });

  it("import --dry-run shows the changes and writes nothing", async () => {
    const store = fakeStore({ "+61341517921": "agent_a1" });
    const file = join(tempDir("dry"), "numbers.csv");
    writeFileSync(file, "number,retellAgentId\n+61341517921,agent_z9\n");
    const result = await runCli("agents", ["import", file, "--dry-run", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(result.stderr).toContain("would be updated (was agent_a1) → agent_z9");
    expect(store.kv()).toEqual({ "+61341517921": "agent_a1" });
  });

  it("export to CSV writes the import layout", async () => {
    const store = fakeStore({ "+61341517921": '{"retellAgentId":"agent_a1","name":"Desk, North","dynamicVariables":{"clinic":"N"}}' });
    const file = join(tempDir("csv-out"), "out.csv");
    expect((await runCli("agents", ["export", file, "--local"], store.env)).code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe('number,retellAgentId,name,fallbackNumber,retellAgentVersion,var.clinic\n+61341517921,agent_a1,"Desk, North",,,N\n');
  });

  it("export to CSV writes a cell a spreadsheet would run as a formula as text, and import reads it back unchanged", async () => {
    const value = '{"retellAgentId":"agent_a1","name":"=HYPERLINK(\\"https://evil.example\\",\\"Desk\\")","dynamicVariables":{"promo":"@SUM(A1)"}}';
    const file = join(tempDir("csv-formula"), "out.csv");
    expect((await runCli("agents", ["export", file, "--local"], fakeStore({ "+61341517921": value }).env)).code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(`number,retellAgentId,name,fallbackNumber,retellAgentVersion,var.promo\n+61341517921,agent_a1,"'=HYPERLINK(""https://evil.example"",""Desk"")",,,'@SUM(A1)\n`);
    const restored = fakeStore();
    const result = await runCli("agents", ["import", file, "--local"], restored.env);
    expect(result.code, result.output).toBe(0);
    expect(restored.kv()).toEqual({ "+61341517921": value });
  });
});

describe.concurrent("the loop guard: no number an agent dials may be one of the bridge's own (exit 2, nothing written)", () => {
  const OTHER_LINE = "+61341517930";
  const unchanged = { [OTHER_LINE]: "agent_other" };

  it.each([
    ["another line's number", OTHER_LINE, "--fallback: +61341517930 is one of this bridge's own numbers"],
    ["the number being added", "+61341517921", "--fallback: +61341517921 is one of this bridge's own numbers"],
  ])("add refuses a fallback that is %s", async (_name, fallback, message) => {
    const store = fakeStore(unchanged);
    const result = await runCli("agents", ["add", "+61341517921", "agent_abc123", "--fallback", fallback, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(message);
    expect(store.kv()).toEqual(unchanged);
  });

  it("add accepts a fallback that is no line of the bridge, reading the store's keys to know", async () => {
    const store = fakeStore(unchanged);
    const result = await runCli("agents", ["add", "+61341517921", "agent_abc123", "--fallback", "+61400000000", "--local"], store.env);
    expect(result.code, result.output).toBe(0);
    expect(store.calls().map((c) => c.slice(0, 3).join(" "))).toContain("kv key list");
  });

  it("import refuses a transfer destination that is a line of the store, naming file, line and field", async () => {
    const store = fakeStore(unchanged);
    const file = join(tempDir("loop"), "numbers.json");
    writeFileSync(file, JSON.stringify([{ number: "+61341517921", retellAgentId: "agent_a1", transfers: { sales: "+61 3 4151 7930", support: "sip:desk@pbx.example.com" } }]));
    const result = await runCli("agents", ["import", file, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(`${file}:1: transfers.sales: +61341517930 is one of this bridge's own numbers`);
    expect(store.kv()).toEqual(unchanged);
  });

  it("import refuses a fallback that is another row's number in the same file", async () => {
    const store = fakeStore();
    const file = join(tempDir("loop"), "numbers.csv");
    writeFileSync(file, "number,retellAgentId,fallbackNumber\n+61341517921,agent_a1,+61341517922\n+61341517922,agent_b2,\n");
    const result = await runCli("agents", ["import", file, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(`${file}:2: fallbackNumber: +61341517922 is one of this bridge's own numbers`);
    expect(store.kv()).toEqual({});
  });

  it("hours refuses an after-hours number that is another line of the bridge", async () => {
    const store = fakeStore({ ...unchanged, "+61341517921": "agent_abc123" });
    const result = await runCli("agents", ["hours", "+61341517921", "--tz", "UTC", "--after-hours", `number:${OTHER_LINE}`, "--local"], store.env);
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain("--after-hours: +61341517930 is one of this bridge's own numbers");
    expect(store.kv()).toEqual({ ...unchanged, "+61341517921": "agent_abc123" });
  });
});

describe("agents --check asks Retell first", () => {
  let retell: RetellStandIn;
  beforeAll(async () => {
    retell = await startRetellStandIn({ apiKey: RETELL_KEY });
  });
  afterAll(() => retell.close());
  const env = () => cleanEnv({ RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url });

  it("writes a mapping whose agent exists", async () => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", "agent_exists1", "--check", "--local"], { ...env(), ...store.env, RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url });
    expect(result.code, result.output).toBe(0);
    expect(retell.requests.some((r) => r.method === "GET" && r.path === "/get-agent/agent_exists1")).toBe(true);
    expect(store.kv()).toEqual({ "+61341517921": "agent_exists1" });
  });

  it("refuses an agent that Retell does not have, with exit 2", async () => {
    const store = fakeStore();
    const result = await runCli("agents", ["add", "+61341517921", "agent_missing1", "--check", "--local"], { ...env(), ...store.env, RETELL_API_KEY: RETELL_KEY, RETELL_BASE_URL: retell.url });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--check: Retell has no agent agent_missing1 under this API key; nothing was written.");
    expect(store.calls()).toEqual([]);
  });

  it("refuses an import naming an agent Retell does not have, naming file and line, and writes nothing", async () => {
    const fake = fakeWrangler();
    const dir = tempDir("check-bad");
    const file = join(dir, "numbers.csv");
    writeFileSync(file, "number,retellAgentId\n+61341517921,agent_exists1\n+61341517922,agent_missing9\n");
    const result = await runCli("agents", ["import", file, "--check", ...local(dir)], { ...env(), ...fake.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:3: retellAgentId: Retell has no agent agent_missing9`);
    expect(fake.calls()).toEqual([]);
  });
});

describe.concurrent("agents: bad input is a clear error and nothing is read or written", () => {
  const dir = tempDir("bad");
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const cases: [string, string[], string][] = [
    ["an invalid number", ["add", "0341517921", "agent_a1", "--local"], '<number>: "0341517921" is not an E.164 phone number'],
    ["an agent id not in Retell's format", ["add", "+61341517921", "agent a1", "--local"], "<retellAgentId>: has characters a Retell agent id never has"],
    ["a fallback that is not a number", ["add", "+61341517921", "agent_a1", "--fallback", "reception", "--local"], "--fallback: is not an E.164 phone number"],
    ["a version that is not a whole number", ["add", "+61341517921", "agent_a1", "--version", "latest", "--local"], "--version: is not a whole number"],
    ["a --var without =", ["add", "+61341517921", "agent_a1", "--var", "clinic", "--local"], '--var: "clinic" is not key=value'],
    ["an unknown flag", ["add", "+61341517921", "agent_a1", "--agent-version", "2", "--local"], "Unknown flag --agent-version for `npm run agents -- add`"],
    ["no store flag", ["add", "+61341517921", "agent_a1"], "needs --local or --remote: it never guesses"],
    ["both store flags", ["list", "--local", "--remote"], "choose one of --local and --remote, not both"],
    ["--persist-to with --remote", ["list", "--remote", "--persist-to", "x"], "--persist-to only applies to --local"],
    ["an unknown command", ["rename", "--local"], 'Unknown command "rename"'],
    ["a missing argument", ["add", "+61341517921", "--local"], "needs <retellAgentId>"],
    ["--check without RETELL_API_KEY", ["add", "+61341517921", "agent_a1", "--check", "--local"], "--check needs RETELL_API_KEY; nothing was written"],
    ["malformed CSV", ["import", file("open.csv", 'number,retellAgentId\n+61341517921,"agent_a1\n'), "--local"], "open.csv:2: (file): is not valid CSV: a double quote that is never closed"],
    ["malformed JSON", ["import", file("broken.json", '[\n {"number": "+61341517921" "retellAgentId": "agent_a1"}\n]'), "--local"], "broken.json:2: (file): is not valid JSON"],
    ["duplicate numbers in one import", ["import", file("dup.json", '[{"number":"+61341517921","retellAgentId":"agent_a1"},\n{"number":"+61 3 4151 7921","retellAgentId":"agent_b2"}]'), "--local"], "dup.json:2: number: +61341517921 is already mapped on line 1"],
    ["an invalid number in a CSV row", ["import", file("num.csv", "number,retellAgentId\n+61341517921,agent_a1\n12345,agent_b2\n"), "--local"], 'num.csv:3: number: "12345" is not an E.164'],
    ["an unknown CSV column", ["import", file("col.csv", "number,agent\n+61341517921,agent_a1\n"), "--local"], "col.csv:1: agent: is not a known column"],
    ["a file type that is neither JSON nor CSV", ["import", file("numbers.txt", "x"), "--local"], 'unknown file type ".txt"'],
    ["a file that does not exist", ["import", join(dir, "nope.csv"), "--local"], "no such file"],
    [
      "a transfer destination that is not a number or sip: URI",
      ["import", file("transfers.json", '[{"number":"+61341517921","retellAgentId":"agent_a1","transfers":{"sales":"reception"}}]'), "--local"],
      'transfers.json:1: transfers: transfers.sales is not an E.164 number or a sip: URI (got {"sales":"reception"})',
    ],
    [
      "a transfer ring time out of Twilio's range",
      ["import", file("ring.json", '[{"number":"+61341517921","retellAgentId":"agent_a1","transferTimeoutSeconds":2}]'), "--local"],
      "ring.json:1: transferTimeoutSeconds: is not a whole number from 5 to 600 (got 2)",
    ],
  ];

  it.each(cases)("rejects %s (exit 2)", async (_, args, message) => {
    const fake = fakeWrangler();
    const result = await runCli("agents", args, cleanEnv(fake.env));
    expect(result.code, result.output).toBe(2);
    expect(result.stderr).toContain(message);
    expect(fake.calls()).toEqual([]);
  });
});
