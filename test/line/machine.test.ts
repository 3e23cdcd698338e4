/** src/line/machine.ts: what Twilio is asked to detect, and what each answer gets. */
import { describe, expect, it } from "vitest";
import { MACHINE_ANSWERS, planAnswer, twilioMachineDetection } from "../../src/line/machine.ts";

describe("twilioMachineDetection", () => {
  it.each([
    ["off", undefined],
    ["hangup", "Enable"],
    ["message", "DetectMessageEnd"],
  ] as const)("%s → %s", (choice, twilio) => {
    expect(twilioMachineDetection(choice)).toBe(twilio);
  });
});

describe("planAnswer", () => {
  it.each(MACHINE_ANSWERS)("hangup, %s: hang up", (answeredBy) => {
    expect(planAnswer("hangup", answeredBy, undefined)).toEqual({ kind: "hangup" });
  });

  it.each(MACHINE_ANSWERS)("message, %s: the message", (answeredBy) => {
    expect(planAnswer("message", answeredBy, "Call back")).toEqual({ kind: "message", message: "Call back" });
  });

  it.each(MACHINE_ANSWERS)("off, %s: the agent", (answeredBy) => {
    expect(planAnswer("off", answeredBy, undefined)).toEqual({ kind: "agent" });
  });

  it.each([["hangup", "human"], ["message", "unknown"], ["hangup", undefined]] as const)("%s, AnsweredBy %s: the agent", (choice, answeredBy) => {
    expect(planAnswer(choice, answeredBy, "Call back")).toEqual({ kind: "agent" });
  });
});
