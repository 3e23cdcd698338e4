/**
 * POST /api/calls through the Worker's entry, against the Twilio stand-in: what Twilio is asked for, every
 * validation error, Twilio's errors, and both limits under concurrent requests. GET /api/calls/:callSid.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import { failTwilio, uniqueCaller, worker } from "../helpers.ts";
import { adminRequest, eventually, withBindings } from "../records.ts";
import { TEST_TWILIO_ACCOUNT_SID, TEST_TWILIO_AUTH_TOKEN } from "../secrets.ts";
import { callingNumber, createsFrom, placeCall, placeRequest, statusRequest } from "../outbound.ts";

async function post(body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await worker(placeRequest(body));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("placing a call", () => {
  it("answers 201 with Twilio's CallSid and status once Twilio has accepted the call", async () => {
    const { from } = await callingNumber();
    const res = await post({ to: uniqueCaller(), from });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ callSid: expect.stringMatching(/^CA[0-9a-f]{32}$/), status: "queued" });
  });

  it("creates the Twilio call with our number, the callee, the signed callback URLs and every status event", async () => {
    const { from } = await callingNumber();
    const to = "+1 (415) 555-0100";
    expect((await post({ to, from })).status).toBe(201);
    const [create] = await createsFrom(from);
    expect(create?.authorization).toBe(`Basic ${btoa(`${TEST_TWILIO_ACCOUNT_SID}:${TEST_TWILIO_AUTH_TOKEN}`)}`);
    const url = new URL(create?.form.Url?.[0] ?? "");
    const status = new URL(create?.form.StatusCallback?.[0] ?? "");
    const reservation = url.searchParams.get("reservation");
    expect(create?.form).toEqual({
      To: ["+14155550100"],
      From: [from],
      Url: [`https://bridge.example.com/api/webhooks/twilio/outbound?reservation=${reservation}&end=1`],
      Method: ["POST"],
      StatusCallback: [`https://bridge.example.com/api/webhooks/twilio/status?reservation=${reservation}&end=1`],
      StatusCallbackMethod: ["POST"],
      StatusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
      TimeLimit: ["3600"],
    });
    expect(reservation).toMatch(/^[0-9a-f-]{36}$/);
    expect(status.searchParams.get("reservation")).toBe(reservation);
  });

  it("puts nothing of the agent, the variables or the metadata in the URLs Twilio is given", async () => {
    const { from, agentId } = await callingNumber();
    await post({ to: uniqueCaller(), from, dynamicVariables: { first_name: "Ada" }, metadata: { crm_id: "crm-991" } });
    const [create] = await createsFrom(from);
    const urls = `${create?.form.Url?.[0]} ${create?.form.StatusCallback?.[0]}`;
    for (const secret of [agentId, "Ada", "crm-991", "first_name"]) expect(urls).not.toContain(secret);
  });

  it.each([
    ["hangup", "Enable"],
    ["message", "DetectMessageEnd"],
  ])("asks Twilio for machine detection %s as MachineDetection=%s", async (choice, twilio) => {
    const { from } = await callingNumber();
    const extra = choice === "message" ? { voicemailMessage: "Please call us back." } : {};
    expect((await post({ to: uniqueCaller(), from, machineDetection: choice, ...extra })).status).toBe(201);
    expect((await createsFrom(from))[0]?.form.MachineDetection).toEqual([twilio]);
  });

  it("sends no MachineDetection when detection is off", async () => {
    const { from } = await callingNumber();
    await post({ to: uniqueCaller(), from, machineDetection: "off" });
    expect((await createsFrom(from))[0]?.form.MachineDetection).toBeUndefined();
  });

  it("uses the agent stored under agent:<agentId> when agentId is given, whatever is stored under from", async () => {
    const { from } = await callingNumber();
    await env.AGENTS.put("agent:reminders", "agent_reminderBot");
    const res = await post({ to: uniqueCaller(), from, agentId: "reminders" });
    expect(res.status).toBe(201);
  });

  it("builds the callback URLs on WEBHOOK_BASE_URL when it is set", async () => {
    const { from } = await callingNumber();
    const res = await withBindings(placeRequest({ to: uniqueCaller(), from }), { WEBHOOK_BASE_URL: "https://calls.example.org" });
    expect(res.status).toBe(201);
    expect((await createsFrom(from))[0]?.form.Url?.[0]).toMatch(/^https:\/\/calls\.example\.org\/api\/webhooks\/twilio\/outbound\?reservation=/);
  });
});

describe("bad input: 400 naming the field, and no Twilio call", () => {
  it.each([
    ["to missing", { to: undefined }, "to is required"],
    ["to not a number", { to: "tomorrow" }, "to must be a phone number in E.164"],
    ["from missing", { from: undefined }, "from is required"],
    ["from not a number", { from: "0412" }, "from must be a phone number in E.164"],
    ["to the same as from", { to: "FROM" }, "to must be another number than from"],
    ["agentId with a slash", { agentId: "a/b" }, "agentId must be 1 to 128"],
    ["dynamicVariables not an object", { dynamicVariables: ["a"] }, "dynamicVariables must be an object of strings"],
    ["a variable that is not a string", { dynamicVariables: { visits: 3 } }, "dynamicVariables.visits must be a string"],
    ["a variable name with a space", { dynamicVariables: { "first name": "Ada" } }, 'dynamicVariables name "first name"'],
    ["metadata not an object", { metadata: "crm" }, "metadata must be a JSON object"],
    ["metadata too large", { metadata: { blob: "x".repeat(5_000) } }, "metadata must be at most 4096 bytes"],
    ["an unknown machineDetection", { machineDetection: "Enable" }, "machineDetection must be one of off, hangup, message"],
    ["message detection without a voicemailMessage", { machineDetection: "message" }, "voicemailMessage is required"],
    ["a voicemailMessage without message detection", { voicemailMessage: "Hi" }, "voicemailMessage is only used with machineDetection message"],
    ["an unknown field", { callerId: "+14155550000" }, "unknown field callerId"],
  ])("%s", async (_name, change, message) => {
    const { from } = await callingNumber();
    const body: Record<string, unknown> = { to: uniqueCaller(), from, ...change };
    if (body.to === "FROM") body.to = from;
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "bad_request", message: expect.stringContaining(message) });
    expect(await createsFrom(from)).toEqual([]);
  });

  it("a number with no agent stored under it: 400 naming from", async () => {
    const res = await post({ to: uniqueCaller(), from: "+61255550000" });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("from: no agent is stored for from +61255550000");
  });

  it("an agentId with no agent stored: 400 naming agentId", async () => {
    const { from } = await callingNumber();
    const res = await post({ to: uniqueCaller(), from, agentId: "nobody-here" });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe("agentId: no agent is stored for agent nobody-here (KV key agent:nobody-here)");
    expect(await createsFrom(from)).toEqual([]);
  });

  it("a body that is not JSON", async () => {
    const res = await post("{to:");
    expect(res).toEqual({ status: 400, body: { error: "bad_request", message: "the body is not JSON" } });
  });

  it("a body that is not sent as JSON: 415", async () => {
    const { from } = await callingNumber();
    const res = await worker(new Request("https://bridge.example.com/api/calls", {
      method: "POST",
      headers: { Authorization: placeRequest({}).headers.get("Authorization") ?? "", "Content-Type": "application/x-www-form-urlencoded" },
      body: `to=%2B14155550100&from=${encodeURIComponent(from)}`,
    }));
    expect(res.status).toBe(415);
  });

  it("without the admin token: 401, and no Twilio call", async () => {
    const { from } = await callingNumber();
    const res = await worker(placeRequest({ to: uniqueCaller(), from }, "wrong-token"));
    expect(res.status).toBe(401);
    expect(await createsFrom(from)).toEqual([]);
  });

  it("without TWILIO_ACCOUNT_SID: 500, and no Twilio call", async () => {
    const { from } = await callingNumber();
    const res = await withBindings(placeRequest({ to: uniqueCaller(), from }), { TWILIO_ACCOUNT_SID: "" });
    expect(res.status).toBe(500);
    expect(await createsFrom(from)).toEqual([]);
  });
});

describe("Twilio's errors", () => {
  it("passes Twilio's code and message on as 502 twilio_error", async () => {
    const { from } = await callingNumber();
    const to = uniqueCaller();
    await failTwilio(`To=${to}`, { status: 400, code: 21215, message: `Account not authorized to call ${to}.` });
    const res = await post({ to, from });
    expect(res).toEqual({ status: 502, body: { error: "twilio_error", code: 21215, message: `Account not authorized to call ${to}.` } });
  });

  it("gives the slot back when Twilio refuses: the number can still place its full number of calls", async () => {
    const { from } = await callingNumber();
    const refused = uniqueCaller();
    await failTwilio(`To=${refused}`, { status: 500 });
    for (let i = 0; i < 5; i++) expect((await post({ to: refused, from })).status).toBe(502);
    const placed = await Promise.all(Array.from({ length: 5 }, () => post({ to: uniqueCaller(), from })));
    expect(placed.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
  });

  it("does not count a refused call against the daily limit", async () => {
    const { from } = await callingNumber();
    const refused = uniqueCaller();
    await failTwilio(`To=${refused}`, { status: 400, code: 21215, message: "no" });
    const limits = { OUTBOUND_DAILY_LIMIT: "2" };
    for (let i = 0; i < 3; i++) expect((await withBindings(placeRequest({ to: refused, from }), limits)).status).toBe(502);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from }), limits)).status).toBe(201);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from }), limits)).status).toBe(201);
  });

  it("keeps the slot when Twilio does not answer (the call may exist): 502 with no code", async () => {
    const { from } = await callingNumber();
    const to = uniqueCaller();
    await failTwilio(`To=${to}`, { status: 500, hang: true });
    const limits = { OUTBOUND_MAX_CONCURRENT: "1" };
    const first = await withBindings(placeRequest({ to, from }), limits);
    expect(first.status).toBe(502);
    expect(JSON.parse(first.text)).toMatchObject({ error: "twilio_error", code: null });
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from }), limits)).status).toBe(429);
  }, 20_000);
});

describe("limits per calling number", () => {
  it("places at most OUTBOUND_MAX_CONCURRENT (5) of 12 simultaneous requests; the rest get 429 and no Twilio call", async () => {
    const { from } = await callingNumber();
    const results = await Promise.all(Array.from({ length: 12 }, () => post({ to: uniqueCaller(), from })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(201), ...Array(7).fill(429)]);
    expect(results.find((r) => r.status === 429)?.body).toEqual({ error: "limit_reached", message: expect.stringContaining("OUTBOUND_MAX_CONCURRENT (5)") });
    expect(await createsFrom(from)).toHaveLength(5);
  });

  it("counts each number on its own", async () => {
    const [a, b] = [await callingNumber(), await callingNumber()];
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post({ to: uniqueCaller(), from: (i % 2 ? a : b).from })));
    expect(results.every((r) => r.status === 201)).toBe(true);
  });

  it("starts at most OUTBOUND_DAILY_LIMIT calls per UTC day, also with slots free", async () => {
    const { from } = await callingNumber();
    const limits = { OUTBOUND_DAILY_LIMIT: "3", OUTBOUND_MAX_CONCURRENT: "100" };
    const results = await Promise.all(Array.from({ length: 8 }, () => withBindings(placeRequest({ to: uniqueCaller(), from }), limits)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 429, 429, 429, 429, 429]);
    expect(JSON.parse(results.find((r) => r.status === 429)?.text ?? "{}").message).toContain("OUTBOUND_DAILY_LIMIT (3)");
    expect(await createsFrom(from)).toHaveLength(3);
  });

  it("frees a slot when the status callback reports the call final", async () => {
    const line = await callingNumber();
    const limits = { OUTBOUND_MAX_CONCURRENT: "1" };
    const first = await placeCall({}, line);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status).toBe(429);
    expect((await worker(statusRequest(first, "ringing", 1))).status).toBe(204);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status).toBe(429);
    expect((await worker(statusRequest(first, "no-answer", 2))).status).toBe(204);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status).toBe(201);
  });

  it("frees a slot whose final status never comes once its timeout has passed (the line's alarm)", async () => {
    const line = await callingNumber();
    const limits = { OUTBOUND_MAX_CONCURRENT: "1" };
    await placeCall({}, line);
    const stub = lineStub(env, line.from);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE outbound SET expires_at = ?", Date.now() - 1);
    });
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status).toBe(429);
    await runInDurableObject(stub, (_instance, state) => state.storage.setAlarm(Date.now()));
    await runDurableObjectAlarm(stub);
    expect((await withBindings(placeRequest({ to: uniqueCaller(), from: line.from }), limits)).status).toBe(201);
  });
});

describe("GET /api/calls/:callSid", () => {
  it("returns the placed call's record once the line has copied it, as an outbound call from our number", async () => {
    const call = await placeCall();
    const res = await eventually(() => worker(adminRequest(`/api/calls/${call.callSid}`)), (r) => r.status === 200);
    expect(await res.json()).toMatchObject({ callSid: call.callSid, direction: "outbound", from: call.from, to: call.to, retellAgentId: call.agentId, agentKey: call.from });
  });

  it("answers 404 for a call it has no record of", async () => {
    const res = await worker(adminRequest(`/api/calls/CA${"0".repeat(32)}`));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found", message: expect.stringContaining("no record of this call") });
  });

  it("answers 400 for something that is not a CallSid", async () => {
    expect((await worker(adminRequest("/api/calls/not-a-sid"))).status).toBe(400);
  });
});
