/**
 * Secrets never enter the repository: no local secret files are tracked, and no tracked file assigns a
 * credential-shaped value to a secret's name (made-up test values are named as such).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const tracked = execFileSync("git", ["ls-files", "-z"], { encoding: "utf8" }).split("\0").filter(Boolean);

/** NAME=value or NAME: "value" for the secrets this project knows. */
const ASSIGNMENT = /\b(TWILIO_AUTH_TOKEN(?:_SECONDARY)?|RETELL_API_KEY|ADMIN_TOKEN|CALLS_TOKEN|CLOUDFLARE_API_TOKEN|TWILIO_API_SECRET)\s*[=:]\s*["'`]?([A-Za-z0-9_\-]{16,})/g;
/** Values that are visibly not real: placeholders and the tests' own made-up tokens. */
const MADE_UP = /^(TEST_|your_|test_|demo_|load_|bench_|key_test|key_load|key_bench|key_demo|example)/i;

describe("the repository", () => {
  it.each([".dev.vars", ".env"])("does not track %s", (name) => {
    expect(tracked.filter((f) => f === name || f.endsWith(`/${name}`))).toEqual([]);
  });

  it("does not track wrangler's local state or node_modules", () => {
    expect(tracked.filter((f) => /(^|\/)(\.wrangler|node_modules)\//.test(f))).toEqual([]);
  });

  it("ships .dev.vars.example with placeholders only", () => {
    const assignments = [...readFileSync(".dev.vars.example", "utf8").matchAll(ASSIGNMENT)];
    expect(assignments.map((m) => m[1])).toEqual(expect.arrayContaining(["TWILIO_AUTH_TOKEN", "RETELL_API_KEY"]));
    for (const [, , value] of assignments) expect(value).toMatch(MADE_UP);
  });

  it("assigns no credential-shaped value to a secret's name in any tracked file", () => {
    const found: string[] = [];
    for (const file of tracked) {
      if (/\.(png|jpg|ico|lock)$|package-lock\.json$/.test(file)) continue;
      const text = readFileSync(file, "utf8");
      for (const [match, , value] of text.matchAll(ASSIGNMENT)) {
        if (!MADE_UP.test(value ?? "")) found.push(`${file}: ${match}`);
      }
    }
    expect(found).toEqual([]);
  });
});
