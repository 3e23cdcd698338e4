/** src/agents/loop-guard.ts: which numbers an agent dials, and which of them are the bridge's own. */
import { describe, expect, it } from "vitest";
import { dialedNumbers, loopingNumbers, ownNumbers } from "../../src/agents/loop-guard.ts";
import type { AgentConfig } from "../../src/agents/schema.ts";

const AGENT: AgentConfig = {
  retellAgentId: "agent_a",
  fallbackNumber: "+61390000009",
  transfers: { sales: "+61390000001", support: "sip:desk@pbx.example.com" },
  schedule: { timeZone: "UTC", hours: {}, afterHours: { number: "+61390000002" } },
};

describe("dialedNumbers", () => {
  it("names every number the bridge may dial for the agent, never a sip: destination", () => {
    expect(dialedNumbers(AGENT)).toEqual([
      { field: "fallbackNumber", number: "+61390000009" },
      { field: "transfers.sales", number: "+61390000001" },
      { field: "schedule.afterHours.number", number: "+61390000002" },
    ]);
  });

  it("is empty for an agent that dials no number", () => {
    expect(dialedNumbers({ retellAgentId: "agent_a", transfers: { support: "sip:desk@pbx.example.com" } })).toEqual([]);
  });
});

describe("ownNumbers", () => {
  it("keeps only the keys that are E.164 numbers", () => {
    expect([...ownNumbers(["+61390000001", "agent:night_desk", "rules:blocked", "webhooks", "61390000003"])]).toEqual(["+61390000001"]);
  });
});

describe("loopingNumbers", () => {
  it.each([
    ["the fallback", "+61390000009", ["fallbackNumber"]],
    ["a transfer destination", "+61390000001", ["transfers.sales"]],
    ["the after-hours number", "+61390000002", ["schedule.afterHours.number"]],
    ["none of them", "+61390000005", []],
  ])("finds %s when it is one of the bridge's numbers", (_name, own, fields) => {
    expect(loopingNumbers(AGENT, new Set([own])).map((l) => l.field)).toEqual(fields);
  });
});
