/** src/rules/decide.ts: the one routing decision, as a pure function of the call and its agent's rules. */
import { describe, expect, it } from "vitest";
import type { AgentConfig } from "../../src/agents/schema.ts";
import { CLOSED_MESSAGE, decide, type RuleInput } from "../../src/rules/decide.ts";
import type { Schedule } from "../../src/rules/schedule.ts";

const TO = "+61341517921";
const CALLER = "+14155550100";
/** Fri 2026-11-20 10:00 and 20:00 in Melbourne (AEDT). */
const OPEN_TIME = Date.parse("2026-11-19T23:00:00Z");
const CLOSED_TIME = Date.parse("2026-11-20T09:00:00Z");
const HOURS: Schedule = { timeZone: "Australia/Melbourne", hours: { fri: ["09:00-17:00"] } };

function input(agent: Partial<AgentConfig> = {}, overrides: Partial<RuleInput> = {}): RuleInput {
  return {
    agent: { retellAgentId: "agent_front", ...agent },
    blocklist: [],
    from: CALLER,
    to: TO,
    verification: "none",
    now: OPEN_TIME,
    limits: { caller: true, number: true },
    ...overrides,
  };
}

describe("blocked callers", () => {
  it.each([
    ["an exact number on the global blocklist", input({}, { blocklist: [CALLER] }), "global_blocklist"],
    ["a prefix on the global blocklist", input({}, { blocklist: ["+1900*"], from: "+19005550100" }), "global_blocklist"],
    ["anonymous on the global blocklist", input({}, { blocklist: ["anonymous"], from: "restricted" }), "global_blocklist"],
    ["the agent's own blocked callers", input({ blockedCallers: ["+1415*"] }), "agent_blocklist"],
  ])("rejects %s", (_name, call, reason) => {
    expect(decide(call)).toEqual({ kind: "reject", reason });
  });

  it("rejects a blocked caller even when over a rate limit or after hours", () => {
    expect(decide(input({ schedule: HOURS }, { blocklist: [CALLER], now: CLOSED_TIME, limits: { caller: false, number: false } }))).toEqual({ kind: "reject", reason: "global_blocklist" });
  });

  it.each([
    ["failed verification, with blockUnverified failed", "failed", "failed", true],
    ["failed verification, with blockUnverified failed-or-C", "failed-or-C", "failed", true],
    ["C attestation, with blockUnverified failed-or-C", "failed-or-C", "passed-C", true],
    ["C attestation, with blockUnverified failed", "failed", "passed-C", false],
    ["B attestation, with blockUnverified failed-or-C", "failed-or-C", "passed-B", false],
    ["no verification, with blockUnverified failed-or-C", "failed-or-C", "none", false],
  ] as const)("%s: rejected as unverified is %s", (_name, blockUnverified, verification, rejected) => {
    const decision = decide(input({ blockUnverified }, { verification }));
    expect(decision).toEqual(rejected ? { kind: "reject", reason: "unverified" } : { kind: "connect", variables: {} });
  });

  it("connects a caller whose verification failed when the agent has no blockUnverified", () => {
    expect(decide(input({}, { verification: "failed" }))).toEqual({ kind: "connect", variables: {} });
  });

  it("connects a caller on no list", () => {
    expect(decide(input({ blockedCallers: ["+1900*"] }, { blocklist: ["anonymous"] }))).toEqual({ kind: "connect", variables: {} });
  });
});

describe("rate limits", () => {
  it.each([
    ["the caller's", { caller: false, number: true }, "caller_rate_limit"],
    ["the dialed number's", { caller: true, number: false }, "number_rate_limit"],
  ] as const)("stops a call over %s limit", (_name, limits, reason) => {
    expect(decide(input({}, { limits }))).toEqual({ kind: "rate_limited", reason });
  });

  it("stops a call over a limit after hours too (an after-hours number costs minutes as well)", () => {
    const decision = decide(input({ schedule: { ...HOURS, afterHours: { number: "+61390000000" } } }, { now: CLOSED_TIME, limits: { caller: false, number: true } }));
    expect(decision).toEqual({ kind: "rate_limited", reason: "caller_rate_limit" });
  });
});

describe("opening hours", () => {
  it("connects during opening hours and tells Retell it is not after hours", () => {
    expect(decide(input({ schedule: HOURS }))).toEqual({ kind: "connect", variables: { after_hours: "false" } });
  });

  it.each([
    ["the after-hours agent", { agent: "night_desk" }, { kind: "connect", agentId: "night_desk", reason: "after_hours", variables: { after_hours: "true" } }],
    ["the after-hours number", { number: "+61390000000" }, { kind: "dial", number: "+61390000000", reason: "after_hours" }],
    ["the after-hours sentence", { say: "We open at nine." }, { kind: "say", message: "We open at nine.", reason: "after_hours" }],
  ] as const)("sends a call after hours to %s", (_name, afterHours, expected) => {
    expect(decide(input({ schedule: { ...HOURS, afterHours } }, { now: CLOSED_TIME }))).toEqual(expected);
  });

  it("says the closed message after hours when there is no after-hours target", () => {
    expect(decide(input({ schedule: HOURS }, { now: CLOSED_TIME }))).toEqual({ kind: "say", message: CLOSED_MESSAGE, reason: "after_hours" });
  });

  it("never dials the number that was called, which would loop back here", () => {
    const decision = decide(input({ schedule: { ...HOURS, afterHours: { number: TO } } }, { now: CLOSED_TIME, to: "+61 3 4151 7921" }));
    expect(decision).toMatchObject({ kind: "say", message: CLOSED_MESSAGE, reason: "after_hours", detail: expect.stringContaining("dialed number") });
  });
});

describe("allowed callers", () => {
  it("connects a caller on the allowed list", () => {
    expect(decide(input({ allowedCallers: ["+1415*"] }))).toEqual({ kind: "connect", variables: {} });
  });

  it("says the closed message to a caller not on it when there is no after-hours target", () => {
    expect(decide(input({ allowedCallers: ["+61*"] }))).toEqual({ kind: "say", message: CLOSED_MESSAGE, reason: "caller_not_allowed" });
  });

  it("sends a caller not on it to the after-hours target, while open", () => {
    const decision = decide(input({ allowedCallers: ["anonymous"], schedule: { ...HOURS, afterHours: { agent: "screening" } } }));
    expect(decision).toEqual({ kind: "connect", agentId: "screening", reason: "caller_not_allowed", variables: { after_hours: "false" } });
  });
});
