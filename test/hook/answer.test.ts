import { describe, expect, it } from "vitest";
import { MAX_ANSWER_DEPTH, parseHookAnswer } from "../../src/hook/answer.ts";

const nested = (levels: number): unknown => (levels === 0 ? "x" : { a: nested(levels - 1) });

describe("the hook's answer", () => {
  it.each([
    ["an empty body", ""],
    ["{}", "{}"],
    ["an empty call_inbound", '{"call_inbound":{}}'],
  ])("means go ahead as configured for %s", (_name, text) => {
    expect(parseHookAnswer(text)).toEqual({ ok: true, answer: {} });
  });

  it("keeps every field of Retell's answer as it came, and the bridge's reject", () => {
    const fields = {
      override_agent_id: "agent_vip123",
      override_agent_version: 4,
      dynamic_variables: { customer_name: "Ada", tier: "gold" },
      metadata: { crm_id: 42, tags: ["a", { b: null }] },
      agent_override: { agent: { max_call_duration_ms: 600_000 }, retell_llm: { begin_message: "Hi Ada" } },
      reject: true,
    };
    expect(parseHookAnswer(JSON.stringify({ call_inbound: fields }))).toEqual({ ok: true, answer: fields });
  });

  it("accepts Retell's older agent ids without a prefix", () => {
    const check = parseHookAnswer('{"call_inbound":{"override_agent_id":"oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"}}');
    expect(check).toEqual({ ok: true, answer: { override_agent_id: "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD" } });
  });

  it("ignores fields Retell does not define, as Retell does", () => {
    expect(parseHookAnswer('{"call_inbound":{"call_id":"x","future":1},"other":true}')).toEqual({ ok: true, answer: {} });
  });

  it("leaves out reject: false", () => {
    expect(parseHookAnswer('{"call_inbound":{"reject":false}}')).toEqual({ ok: true, answer: {} });
  });

  it.each([
    ["not JSON", "<html>", "not JSON"],
    ["a JSON array", "[]", "not a JSON object"],
    ["a JSON string", '"ok"', "not a JSON object"],
    ["call_inbound not an object", '{"call_inbound":[1]}', "call_inbound"],
    ["an override_agent_id that is a number", '{"call_inbound":{"override_agent_id":7}}', "override_agent_id"],
    ["an override_agent_id with a path in it", '{"call_inbound":{"override_agent_id":"agent_x/../y"}}', "override_agent_id"],
    ["an override_agent_id without a letter", '{"call_inbound":{"override_agent_id":"12345"}}', "override_agent_id"],
    ["an override_agent_version that is a string", '{"call_inbound":{"override_agent_version":"3"}}', "override_agent_version"],
    ["a negative override_agent_version", '{"call_inbound":{"override_agent_version":-1}}', "override_agent_version"],
    ["a fractional override_agent_version", '{"call_inbound":{"override_agent_version":1.5}}', "override_agent_version"],
    ["dynamic_variables as an array", '{"call_inbound":{"dynamic_variables":["a"]}}', "dynamic_variables"],
    ["a dynamic variable that is a number", '{"call_inbound":{"dynamic_variables":{"name":"Ada","age":36}}}', "dynamic_variables"],
    ["metadata as a string", '{"call_inbound":{"metadata":"x"}}', "metadata"],
    ["agent_override as an array", '{"call_inbound":{"agent_override":[]}}', "agent_override"],
    ["an agent_override group Retell does not take", '{"call_inbound":{"agent_override":{"voice":{}}}}', "agent_override"],
    ["an agent_override group that is not an object", '{"call_inbound":{"agent_override":{"agent":"x"}}}', "agent_override.agent"],
    ["reject as a string", '{"call_inbound":{"reject":"yes"}}', "reject"],
  ])("is invalid as a whole with %s, naming the field and not its value", (_name, text, field) => {
    const check = parseHookAnswer(text);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.problem).toContain(field);
  });

  it("is invalid when one field is wrong even though the others are right", () => {
    const check = parseHookAnswer(JSON.stringify({ call_inbound: { dynamic_variables: { customer_name: "Ada" }, override_agent_version: "latest" } }));
    expect(check.ok).toBe(false);
  });

  it.each([
    ["metadata", (deep: unknown) => ({ metadata: deep })],
    ["agent_override", (deep: unknown) => ({ agent_override: { agent: deep } })],
  ])("refuses %s nested deeper than the limit", (field, answer) => {
    const check = parseHookAnswer(JSON.stringify({ call_inbound: answer(nested(MAX_ANSWER_DEPTH + 2)) }));
    expect(check).toEqual({ ok: false, problem: `${field} nests deeper than ${MAX_ANSWER_DEPTH} levels` });
  });

  it("accepts metadata nested up to the limit", () => {
    expect(parseHookAnswer(JSON.stringify({ call_inbound: { metadata: nested(MAX_ANSWER_DEPTH - 1) } })).ok).toBe(true);
  });

  it("refuses a body of 30 000 nested arrays without throwing", () => {
    const text = `{"call_inbound":{"metadata":{"a":${"[".repeat(30_000)}${"]".repeat(30_000)}}}}`;
    expect(parseHookAnswer(text).ok).toBe(false);
  });
});
