import { describe, expect, it } from "vitest";
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import { applyHookAnswer } from "../../src/hook/merge.ts";

const params: CallRegisterPhoneCallParams = {
  agent_id: "agent_front",
  agent_version: 2,
  from_number: "+14155550100",
  to_number: "+61341517921",
  direction: "inbound",
  retell_llm_dynamic_variables: { office: "Melbourne", after_hours: "false", caller_number: "+14155550100", called_number: "+61341517921", caller_verification: "failed" },
  metadata: { team: "front", twilio_call_sid: "CA1", twilio_line: "+61341517921" },
};

describe("applying the hook's answer to the registration", () => {
  it("changes nothing for an empty answer", () => {
    expect(applyHookAnswer(params, {})).toEqual(params);
  });

  it("takes the override agent without the configured agent's version", () => {
    const merged = applyHookAnswer(params, { override_agent_id: "agent_vip" });
    expect(merged.agent_id).toBe("agent_vip");
    expect(merged).not.toHaveProperty("agent_version");
  });

  it("takes the override version, with or without an override agent", () => {
    expect(applyHookAnswer(params, { override_agent_id: "agent_vip", override_agent_version: 7 })).toMatchObject({ agent_id: "agent_vip", agent_version: 7 });
    expect(applyHookAnswer(params, { override_agent_version: 5 })).toMatchObject({ agent_id: "agent_front", agent_version: 5 });
  });

  it("merges dynamic variables over the agent's and the rules', keeping the numbers and the verification Twilio gave", () => {
    const merged = applyHookAnswer(params, { dynamic_variables: { customer_name: "Ada", office: "Sydney", after_hours: "true", caller_number: "+1999", caller_verification: "passed-A" } });
    expect(merged.retell_llm_dynamic_variables).toEqual({
      office: "Sydney",
      after_hours: "true",
      customer_name: "Ada",
      caller_number: "+14155550100",
      called_number: "+61341517921",
      caller_verification: "failed",
    });
  });

  it("merges metadata over the agent's; the Worker's twilio_* keys win and no other twilio_* key is taken", () => {
    const merged = applyHookAnswer(params, { metadata: { team: "vip", crm_id: 42, twilio_call_sid: "CAevil", twilio_line: "+1", twilio_account_sid: "ACx" } });
    expect(merged.metadata).toEqual({ team: "vip", crm_id: 42, twilio_call_sid: "CA1", twilio_line: "+61341517921" });
  });

  it("passes agent_override as it is", () => {
    const agent_override = { agent: { max_call_duration_ms: 60_000 }, retell_llm: { begin_message: "Hello Ada" } };
    expect(applyHookAnswer(params, { agent_override }).agent_override).toBe(agent_override);
  });

  it("leaves the params it was given unchanged", () => {
    const before = structuredClone(params);
    applyHookAnswer(params, { override_agent_id: "agent_vip", metadata: { a: 1 }, dynamic_variables: { b: "2" } });
    expect(params).toEqual(before);
  });
});
