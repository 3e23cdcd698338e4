/** src/tokens.ts: the one rule for ADMIN_TOKEN and CALLS_TOKEN, shared by the Worker and doctor/deploy. */
import { describe, expect, it } from "vitest";
import { MIN_CALLS_TOKEN_CHARS, tokenProblem } from "../src/tokens.ts";

describe("tokenProblem", () => {
  it.each(["admin!token", "admin token", 'p@ss w#rd!"(),;<>?[]{}', "a"])("accepts the ADMIN_TOKEN %j", (token) => {
    expect(tokenProblem("ADMIN_TOKEN", token)).toBeNull();
  });

  it.each([" leading", "trailing ", "tab\tinside", "line\nbreak", "nön-ascii", ""])("refuses the ADMIN_TOKEN %j, which a trimmed header could never carry", (token) => {
    expect(tokenProblem("ADMIN_TOKEN", token)).toContain("visible ASCII");
  });

  it("refuses a CALLS_TOKEN shorter than 32 characters and accepts one of 32", () => {
    expect(MIN_CALLS_TOKEN_CHARS).toBe(32);
    expect(tokenProblem("CALLS_TOKEN", "x".repeat(31))).toContain("shorter than 32");
    expect(tokenProblem("CALLS_TOKEN", "x".repeat(32))).toBeNull();
  });
});
