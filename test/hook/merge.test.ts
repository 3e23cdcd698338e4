import { describe, expect, it } from "vitest";
import type { CallRegisterPhoneCallParams } from "retell-sdk/resources/call";
import { registrationParams, workerVariables } from "../../src/calls/connect.ts";
import { applyHookAnswer } from "../../src/hook/merge.ts";

/** The Worker's own variables for the call below: what Twilio said about it. */
const own = { caller_number: "+14155550100", called_number: "+61341517921", caller_verification: "failed" };
const params: CallRegisterPhoneCallParams = {
  agent_id: "agent_front",
  agent_version: 2,
  from_number: "+14155550100",
  to_number: "+61341517921",
  direction: "inbound",
  retell_llm_dynamic_variables: { office: "Melbourne", after_hours: "false", ...own },
  metadata: { team: "front", twilio_call_sid: "CA1", twilio_line: "+61341517921" },
};

describe("applying the hook's answer to the registration", () => {
  it("changes nothing for an empty answer", () => {
    expect(applyHookAnswer(params, {}, own)).toEqual(params);
  });

  it("takes the override agent without the configured agent's version", () => {
    const merged = applyHookAnswer(params, { override_agent_id: "agent_vip" }, own);
    expect(merged.agent_id).toBe("agent_vip");
    expect(merged).not.toHaveProperty("agent_version");
  });

  it("takes the override version, with or without an override agent", () => {
    expect(applyHookAnswer(params, { override_agent_id: "agent_vip", override_agent_version: 7 }, own)).toMatchObject({ agent_id: "agent_vip", agent_version: 7 });
    expect(applyHookAnswer(params, { override_agent_version: 5 }, own)).toMatchObject({ agent_id: "agent_front", agent_version: 5 });
  });

  it("merges dynamic variables over the agent's and the rules', keeping the numbers and the verification Twilio gave", () => {
    const merged = applyHookAnswer(params, { dynamic_variables: { customer_name: "Ada", office: "Sydney", after_hours: "true", caller_number: "+1999", caller_verification: "passed-A" } }, own);
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
    const merged = applyHookAnswer(params, { metadata: { team: "vip", crm_id: 42, twilio_call_sid: "CAevil", twilio_line: "+1", twilio_account_sid: "ACx" } }, own);
    expect(merged.metadata).toEqual({ team: "vip", crm_id: 42, twilio_call_sid: "CA1", twilio_line: "+61341517921" });
  });

  it("passes agent_override as it is", () => {
    const agent_override = { agent: { max_call_duration_ms: 60_000 }, retell_llm: { begin_message: "Hello Ada" } };
    expect(applyHookAnswer(params, { agent_override }, own).agent_override).toBe(agent_override);
  });

  it("leaves the params it was given unchanged", () => {
    const before = structuredClone(params);
    applyHookAnswer(params, { override_agent_id: "agent_vip", metadata: { a: 1 }, dynamic_variables: { b: "2" } }, own);
    expect(params).toEqual(before);
  });

  it("keeps every variable the Worker builds for the call over the hook's, as registered (calls/connect.ts)", () => {
    const call = { callSid: `CA${"1".repeat(32)}`, from: "+14155550100", to: "+61341517921", stirVerstat: "TN-Validation-Passed-A", dryRun: false };
    const built = workerVariables(call);
    const hostile = Object.fromEntries(Object.keys(built).map((name) => [name, "from the hook"]));
    const registered = registrationParams(call, { retellAgentId: "agent_front" }, "+61341517921", { dynamic_variables: { ...hostile, customer_name: "Ada" } });
    expect(registered.retell_llm_dynamic_variables).toEqual({ ...built, customer_name: "Ada" });
  });
});
