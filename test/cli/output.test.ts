/**
 * cli/lib/output.ts: every table and message shows terminal control characters from KV values, Twilio's API or
 * input files as visible escapes, never raw; and every command prints through it.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { jsonText, printable, table } from "../../cli/lib/output.ts";
import { startTwilioStandIn, type TwilioStandIn } from "../../stand-ins/twilio.ts";
import { ROOT, TWILIO_SID, TWILIO_TOKEN, cleanEnv, fakeWrangler, removeTempDirs, runCli, tempDir } from "./helpers.ts";

afterAll(removeTempDirs);

/** What a terminal acts on: C0 controls but the line break, DEL, C1 controls. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
/** Clears the screen, sets the window title, and CSI in its one-byte C1 form. */
const HOSTILE = "Desk\u001b[2J\u001b]0;owned\u0007\u009b1A";

describe("printable", () => {
  it.each([
    ["ESC", "\u001b[31m", "\\x1b[31m"],
    ["BEL", "\u0007", "\\x07"],
    ["a carriage return", "a\rb", "a\\x0db"],
    ["a backspace", "a\bb", "a\\x08b"],
    ["a tab", "a\tb", "a\\x09b"],
    ["NUL", "\u0000", "\\x00"],
    ["DEL", "\u007f", "\\x7f"],
    ["C1 CSI", "\u009b2J", "\\x9b2J"],
  ])("shows %s as a visible escape", (_, text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  it("keeps line breaks and printable Unicode", () => {
    expect(printable("✓ +61341517921 → agent_a1\nnext line é")).toBe("✓ +61341517921 → agent_a1\nnext line é");
  });
});

describe("table", () => {
  it("keeps a cell holding control characters or a line break on its row, aligned by what is shown", () => {
    expect(table([["A", "B"], ["x\u001b[2J\ny", "z"], ["long cell", "w"]])).toEqual(["A".padEnd(13) + "  B", "x\\x1b[2J\\x0ay  z", "long cell".padEnd(13) + "  w"]);
  });
});

describe("jsonText", () => {
  it("reads back as the same value and holds no raw control character", () => {
    const value = { name: HOSTILE, vars: { del: "\u007f" } };
    const text = jsonText(value);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).not.toMatch(RAW_CONTROL);
  });
});

describe("what the commands print", () => {
  let twilio: TwilioStandIn;
  beforeEach(async () => {
    twilio = await startTwilioStandIn({ accountSid: TWILIO_SID, authToken: TWILIO_TOKEN });
  });
  afterEach(() => twilio.close());

  const kv = { "+61341517921": JSON.stringify({ retellAgentId: "agent_a1", name: HOSTILE, dynamicVariables: { note: HOSTILE } }), [`+61341517922`]: `agent_bad${HOSTILE}` };

  it("agents list shows a name and a stored value with control characters escaped", async () => {
    const result = await runCli("agents", ["list", "--local"], cleanEnv(fakeWrangler({ kv }).env));
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(RAW_CONTROL);
    expect(result.stdout).toContain("Desk\\x1b[2J\\x1b]0;owned\\x07\\x9b1A");
  });

  it("agents show prints the stored value with control characters escaped", async () => {
    const result = await runCli("agents", ["show", "+61341517922", "--local"], cleanEnv(fakeWrangler({ kv }).env));
    expect(result.code).toBe(1);
    expect(result.output).not.toMatch(RAW_CONTROL);
    expect(result.stdout).toContain("stored value:  agent_badDesk\\x1b[2J");
  });

  it("agents list --json escapes DEL and C1 the JSON way, so it parses back to the stored name", async () => {
    const result = await runCli("agents", ["list", "--local", "--json"], cleanEnv(fakeWrangler({ kv }).env));
    expect(result.code, result.output).toBe(0);
    expect(result.stdout).not.toMatch(RAW_CONTROL);
    expect((JSON.parse(result.stdout) as { mappings: { name: string }[] }).mappings[0]?.name).toBe(HOSTILE);
  });

  it("an error message shows a value from an input file with control characters escaped", async () => {
    const file = join(tempDir("controls"), "numbers.csv");
    writeFileSync(file, `number,retellAgentId,fallbackNumber\n+61341517921,agent_a1,\u009b2J\u007f\n`);
    const result = await runCli("agents", ["import", file, "--local"], cleanEnv(fakeWrangler().env));
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(RAW_CONTROL);
    expect(result.stderr).toContain('fallbackNumber: is not an E.164 phone number (got "\\x9b2J\\x7f")');
  });

  it("numbers list shows a Voice URL from Twilio's API with control characters escaped", async () => {
    twilio.addNumber("+61341517921", { voice_url: `https://bridge.example.com/${HOSTILE}` });
    const result = await runCli("numbers", ["list"], cleanEnv({ TWILIO_ACCOUNT_SID: TWILIO_SID, TWILIO_AUTH_TOKEN: TWILIO_TOKEN, TWILIO_API_BASE_URL: twilio.url }));
    expect(result.code, result.output).toBe(0);
    expect(result.output).not.toMatch(RAW_CONTROL);
    expect(result.stdout).toContain("https://bridge.example.com/Desk\\x1b[2J");
  });
});

describe("the CLI's printers", () => {
  it("write to stdout and stderr only through cli/lib/output.ts", () => {
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
    const direct = files(join(ROOT, "cli"))
      .filter((f) => !f.endsWith(join("lib", "output.ts")))
      .filter((f) => /process\.(stdout|stderr)\.write|console\.(log|error|warn|info)/.test(readFileSync(f, "utf8")));
    expect(direct).toEqual([]);
  });
});
