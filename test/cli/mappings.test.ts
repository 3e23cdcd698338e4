import { describe, expect, it } from "vitest";
import { duplicateProblems, exportCsv, mappingKey, parseCsvMappings, parseJsonMappings } from "../../cli/lib/mappings.ts";

describe("mappingKey", () => {
  it.each([
    ["+61 3 4151 7921", "+61341517921"],
    ["+1 (415) 555-0100", "+14155550100"],
    ["agent:front_desk", "agent:front_desk"],
    ["0341517921", null],
    ["+0123456789", null],
    ["agent:has space", null],
  ])("%j → %j", (input, key) => {
    expect(mappingKey(input)).toBe(key);
  });
});

describe("parseCsvMappings", () => {
  const header = "number,retellAgentId,name,fallbackNumber,retellAgentVersion,var.clinic";

  it("builds the agent object the Worker reads, variables from var.* columns", () => {
    const { rows, problems } = parseCsvMappings(`${header}\n+61 3 4151 7921,agent_a1,"Front desk, North",+61 400 000 000,2,North\n`);
    expect(problems).toEqual([]);
    expect(rows).toEqual([{ line: 2, key: "+61341517921", agent: { retellAgentId: "agent_a1", retellAgentVersion: 2, name: "Front desk, North", fallbackNumber: "+61400000000", dynamicVariables: { clinic: "North" } } }]);
  });

  it.each([
    ["an invalid number", "0341517921,agent_a1,,,,", 2, "number"],
    ["an agent id not in Retell's format", "+61341517921,agent a1,,,,", 2, "retellAgentId"],
    ["a fallback that is not a number", "+61341517921,agent_a1,,call me,,", 2, "fallbackNumber"],
    ["a version that is not a whole number", "+61341517921,agent_a1,,,v2,", 2, "retellAgentVersion"],
    ["a missing agent id", "+61341517921,,,,,", 2, "retellAgentId"],
    ["a row with too few fields", "+61341517921,agent_a1", 2, "(row)"],
  ])("reports %s with its line and field", (_, row, line, field) => {
    const { problems } = parseCsvMappings(`${header}\n${row}\n`);
    expect(problems).toEqual([expect.objectContaining({ line, field })]);
  });

  it("reports every bad field of a row, not only the first", () => {
    const { problems } = parseCsvMappings(`${header}\n+61341517921,agent x,,nope,1.5,\n`);
    expect(problems.map((p) => p.field).sort()).toEqual(["fallbackNumber", "retellAgentId", "retellAgentVersion"]);
  });

  it("rejects an unknown column in the header", () => {
    const { problems } = parseCsvMappings("number,retellAgentId,agentName\n+61341517921,agent_a1,x\n");
    expect(problems).toEqual([expect.objectContaining({ line: 1, field: "agentName" })]);
  });

  it("reports a number that appears twice after normalization, naming both lines", () => {
    const { rows } = parseCsvMappings(`${header}\n+61341517921,agent_a1,,,,\n+61 3 4151 7921,agent_b2,,,,\n`);
    expect(duplicateProblems(rows)).toEqual([{ line: 3, field: "number", message: "+61341517921 is already mapped on line 2 of this file" }]);
  });

  it("round-trips with exportCsv", () => {
    const mapping = { key: "+61341517921", agent: { retellAgentId: "agent_a1", name: 'A "b", c', dynamicVariables: { clinic: "North" } } };
    const { rows } = parseCsvMappings(exportCsv([mapping]));
    expect(rows.map(({ key, agent }) => ({ key, agent }))).toEqual([mapping]);
  });
});

describe("parseJsonMappings", () => {
  it("gives each array element the line it starts on", () => {
    const text = '[\n  {"number": "+61341517921", "retellAgentId": "agent_a1"},\n  {\n    "number": "+61341517922",\n    "retellAgentId": "agent_b2"\n  }\n]';
    expect(parseJsonMappings(text).rows.map((r) => r.line)).toEqual([2, 3]);
  });

  it("accepts an object keyed by number with bare ids or agent objects", () => {
    const { rows } = parseJsonMappings('{"+61341517921": "agent_a1", "+61341517922": {"retellAgentId": "agent_b2", "retellAgentVersion": 3}}');
    expect(rows.map(({ key, agent }) => ({ key, agent }))).toEqual([
      { key: "+61341517921", agent: { retellAgentId: "agent_a1" } },
      { key: "+61341517922", agent: { retellAgentId: "agent_b2", retellAgentVersion: 3 } },
    ]);
  });

  it("names the line of malformed JSON", () => {
    const { problems } = parseJsonMappings('[\n  {"number": "+61341517921",,}\n]');
    expect(problems).toEqual([expect.objectContaining({ line: 2, field: "(file)" })]);
  });

  it("rejects a field the Worker does not know", () => {
    const { problems } = parseJsonMappings('[{"number": "+61341517921", "retellAgentID": "agent_a1"}]');
    expect(problems.map((p) => p.field)).toContain("retellAgentID");
  });
});
