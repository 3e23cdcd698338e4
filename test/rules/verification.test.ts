/** src/rules/verification.ts: Twilio's StirVerstat values, as Twilio lists them, mapped to caller_verification. */
import { describe, expect, it } from "vitest";
import { callerVerification, rejectsUnverified } from "../../src/rules/verification.ts";

describe("callerVerification", () => {
  it.each([
    ["TN-Validation-Passed-A", "passed-A"],
    ["TN-Validation-Passed-B", "passed-B"],
    ["TN-Validation-Passed-C", "passed-C"],
    ["TN-Validation-Passed-A-Diverted", "passed-A"],
    ["TN-Validation-Passed-B-Passthrough", "passed-B"],
    ["TN-Validation-Passed-C-Diverted", "passed-C"],
    ["TN-Validation-Failed-A", "failed"],
    ["TN-Validation-Failed-B", "failed"],
    ["TN-Validation-Failed-C", "failed"],
    ["TN-Validation-Failed", "failed"],
    ["TN-Validation-Failed-C-Diverted", "failed"],
    ["TN-Validation-Failed-A-Passthrough", "failed"],
    ["NULL", "failed"],
    ["No-TN-Validation", "none"],
    [undefined, "none"],
    ["TN-Validation-Passed", "none"],
    ["TN-Validation-Passed-D", "none"],
    ["tn-validation-passed-a", "none"],
    ["TN-Validation-Passed-A ", "none"],
    ["Passed-A", "none"],
  ])("%s is %s", (value, expected) => {
    expect(callerVerification(value)).toBe(expected);
  });
});

describe("rejectsUnverified", () => {
  it.each([
    [undefined, "failed", false],
    ["failed", "failed", true],
    ["failed", "passed-C", false],
    ["failed", "none", false],
    ["failed-or-C", "passed-C", true],
    ["failed-or-C", "failed", true],
    ["failed-or-C", "passed-B", false],
    ["failed-or-C", "passed-A", false],
    ["failed-or-C", "none", false],
  ] as const)("policy %s and verification %s: %s", (policy, verification, expected) => {
    expect(rejectsUnverified(policy, verification)).toBe(expected);
  });
});
