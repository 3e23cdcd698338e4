import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { registerPhoneCall, type RetellClientConfig } from "../../src/retell/register.ts";
import { endRetellCall, retellRequests, setRetellBehaviour, uniqueAgentId } from "../helpers.ts";
import { TEST_RETELL_API_KEY } from "../secrets.ts";

const config = (overrides: Partial<RetellClientConfig> = {}): RetellClientConfig => ({
  baseUrl: inject("retellBaseUrl"),
  apiKey: TEST_RETELL_API_KEY,
  timeoutMs: 2_000,
  ...overrides,
});

const params = (agentId: string) => ({
  agent_id: agentId,
  from_number: "+14155550100",
  to_number: "+61341517921",
  direction: "inbound" as const,
  metadata: { twilio_call_sid: "CA123" },
});

describe("registerPhoneCall", () => {
  it("sends the registration with the API key and returns Retell's call id", async () => {
    const agentId = uniqueAgentId("ok");
    const result = await registerPhoneCall(config(), params(agentId));
    const [request] = await retellRequests(agentId);
    expect(result).toMatchObject({ ok: true, attempts: 1 });
    expect(result.ok && result.callId).toBe(request?.callId);
    expect(request?.headers.authorization).toBe(`Bearer ${TEST_RETELL_API_KEY}`);
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.body).toEqual(params(agentId));
  });

  it.each([400, 401, 402, 404, 422])("does not retry a %i: Retell has refused the request", async (status) => {
    const agentId = uniqueAgentId(`r${status}`);
    await setRetellBehaviour(agentId, { status });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_rejected", status, attempts: 1 });
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it.each([400, 422])("retries a %i sent with x-should-retry: true, as retell-sdk does", async (status) => {
    const agentId = uniqueAgentId(`sr${status}`);
    await setRetellBehaviour(agentId, { status, shouldRetry: true, times: 1 });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: true, attempts: 2 });
    expect(await retellRequests(agentId)).toHaveLength(2);
  });

  it.each([
    [408, "retell_rejected"],
    [409, "retell_rejected"],
    [429, "retell_at_capacity"],
    [500, "retell_rejected"],
    [503, "retell_rejected"],
  ])("never retries a %i sent with x-should-retry: false (%s)", async (status, reason) => {
    const agentId = uniqueAgentId(`nr${status}`);
    await setRetellBehaviour(agentId, { status, shouldRetry: false, times: 1 });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason, status, attempts: 1 });
    expect(await retellRequests(agentId)).toHaveLength(1);
  });

  it.each([
    ["a phone number in the message", { status: "error", message: "Number +14155550123 is not valid" }, "HTTP 400"],
    ["a number written with separators, and a name", { message: "Caller Ada Lovelace at +1 (415) 555-0100 refused" }, "HTTP 400"],
    ["Retell's error code rather than its message", { code: "invalid_number", message: "+14155550123 is not valid" }, "HTTP 400 invalid_number"],
    ["a body without a message", { error: "+14155550123" }, "HTTP 400"],
    ["a body that is not JSON", "<html>Caller 14155550123 refused</html>", "HTTP 400"],
    ["an empty body", "", "HTTP 400"],
  ])("keeps of Retell's error answer only its status and error code, never its free text: %s", async (_name, errorBody, detail) => {
    const agentId = uniqueAgentId("body");
    await setRetellBehaviour(agentId, { status: 400, errorBody });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_rejected", status: 400, detail });
  });

  it("reports a wrong API key as retell_rejected with status 401", async () => {
    const agentId = uniqueAgentId("auth");
    const result = await registerPhoneCall(config({ apiKey: "key_wrong" }), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_rejected", status: 401 });
  });

  it.each([408, 409, 429, 500, 502, 503])("retries a %i and succeeds when Retell recovers", async (status) => {
    const agentId = uniqueAgentId(`r${status}`);
    await setRetellBehaviour(agentId, { status, times: 2 });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: true, attempts: 3 });
    expect(await retellRequests(agentId)).toHaveLength(3);
  });

  it.each([
    ["a 503", { status: 503 }],
    ["a 400 with x-should-retry: true", { status: 400, shouldRetry: true }],
  ])("gives up after three attempts when Retell keeps answering %s, as retell_unavailable", async (_name, behaviour) => {
    const agentId = uniqueAgentId(`x${behaviour.status}`);
    await setRetellBehaviour(agentId, behaviour);
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_unavailable", status: behaviour.status, attempts: 3 });
  });

  it("does not wait for a Retry-After longer than the budget", async () => {
    const agentId = uniqueAgentId("ra");
    await setRetellBehaviour(agentId, { status: 503, retryAfter: "30" });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_unavailable", status: 503, attempts: 1 });
  });

  it("takes a 429 still failing after retries as retell_at_capacity", async () => {
    const agentId = uniqueAgentId("full");
    await setRetellBehaviour(agentId, { status: 429 });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_at_capacity", status: 429, attempts: 3 });
  });

  it.each([
    ["a 429 naming the limit", 429, { status: "error", message: "Concurrency limit reached for this account" }],
    ["a 400 naming concurrency", 400, { status: "error", message: "concurrency_limit_reached" }],
    ["a 503 naming concurrency", 503, { status: "error", message: "Max concurrency exceeded" }],
  ])("takes %s as retell_at_capacity at once, without retrying", async (_name, status, errorBody) => {
    const agentId = uniqueAgentId("conc");
    await setRetellBehaviour(agentId, { status, errorBody });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_at_capacity", status, attempts: 1 });
  });

  it("is refused at capacity by the stand-in's account limit, and registers again once a call has ended", async () => {
    const agentId = uniqueAgentId("limit");
    await setRetellBehaviour(agentId, { concurrency: { limit: 1 } });
    const first = await registerPhoneCall(config(), params(agentId));
    expect(first).toMatchObject({ ok: true });
    expect(await registerPhoneCall(config(), params(agentId))).toMatchObject({ ok: false, reason: "retell_at_capacity", status: 429 });
    await endRetellCall(first.ok ? first.callId : "");
    expect(await registerPhoneCall(config(), params(agentId))).toMatchObject({ ok: true });
  });

  it("retries a dropped connection", async () => {
    const agentId = uniqueAgentId("drop");
    await setRetellBehaviour(agentId, { mode: "drop", times: 1 });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: true, attempts: 2 });
  });

  it("reports an unreachable Retell as retell_unreachable", async () => {
    const result = await registerPhoneCall(config({ baseUrl: "http://127.0.0.1:9" }), params(uniqueAgentId("down")));
    expect(result).toMatchObject({ ok: false, reason: "retell_unreachable", attempts: 3 });
  });

  it("stops at the time budget when Retell does not answer", async () => {
    const agentId = uniqueAgentId("hang");
    await setRetellBehaviour(agentId, { mode: "hang" });
    const result = await registerPhoneCall(config({ timeoutMs: 300 }), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_timeout", attempts: 1 });
  });

  it.each(["call_x@attacker.example", "call_x;transport=udp", "call x", "", "call_<x>"])(
    "refuses a call_id that could redirect the SIP dial (%j) as retell_bad_response",
    async (callId) => {
      const agentId = uniqueAgentId("sip");
      await setRetellBehaviour(agentId, { callId });
      const result = await registerPhoneCall(config(), params(agentId));
      expect(result).toMatchObject({ ok: false, reason: "retell_bad_response", detail: "response has no valid call_id" });
    },
  );

  it.each([
    ["no_call_id", "response has no valid call_id"],
    ["not_json", "response body is not JSON"],
  ] as const)("treats a success without a usable call id (%s) as retell_bad_response", async (mode, detail) => {
    const agentId = uniqueAgentId(mode.replace(/_/g, ""));
    await setRetellBehaviour(agentId, { mode });
    const result = await registerPhoneCall(config(), params(agentId));
    expect(result).toMatchObject({ ok: false, reason: "retell_bad_response", detail, attempts: 1 });
  });
});
