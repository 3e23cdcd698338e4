/**
 * Missed calls (src/line/missed.ts): a signed inbound status callback for a call its line has no record of is a
 * call that reached the number while the bridge never answered it. It gets one record, outcome `missed`; a call
 * the line answered (and forgot) or placed never does, and a voice webhook after it only hangs up.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { lineName, lineStub } from "../../src/line/address.ts";
import type { Bindings } from "../../src/env.ts";
import type { AgentStats } from "../../src/records/stats.ts";
import { callSid, retellRequests, twilioRequest, uniqueAgentId, uniqueCaller, uniqueNumber, voiceParams, worker } from "../helpers.ts";
import { placeCall, statusRequest } from "../outbound.ts";
import { adminRequest, answeredCall, captureLogs, eventually, failingLines, lineRecord, readCall, recordOf, withBindings } from "../records.ts";
import { TEST_TWILIO_ACCOUNT_SID } from "../secrets.ts";

const STATUS_PATH = "/api/webhooks/twilio/status";
/** A caller of this file's own: the caller rate limit (3 a minute) counts calls across every file sharing the runtime. */
const CALLER = uniqueCaller();

afterEach(() => vi.restoreAllMocks());

/** The number-level status callback Twilio sends for an inbound call to `line`. */
function callback(sid: string, line: string, status: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: TEST_TWILIO_ACCOUNT_SID, ApiVersion: "2010-04-01", CallSid: sid, CallStatus: status, Direction: "inbound", From: CALLER, To: line, ...extra };
}

async function send(params: Record<string, string>, options?: Parameters<typeof twilioRequest>[2]): Promise<Response> {
  return worker(twilioRequest(STATUS_PATH, params, options));
}

/** The line objects, noting the name of each method the Worker calls on a line's stub in `calls`. */
function notingLines(calls: string[]): Bindings["LINES"] {
  return {
    idFromName: (name: string) => env.LINES.idFromName(name),
    get: (id: DurableObjectId) =>
      new Proxy(env.LINES.get(id), {
        get: (stub, name) => {
          const member: unknown = Reflect.get(stub, name);
          if (typeof name !== "string" || typeof member !== "function") return member;
          return (...args: unknown[]) => (calls.push(name), Reflect.apply(member, stub, args));
        },
      }),
  } as unknown as Bindings["LINES"];
}

/** A number mapped to a fresh agent in KV. */
async function mappedNumber(): Promise<{ line: string; agentId: string }> {
  const line = uniqueNumber();
  const agentId = uniqueAgentId("missed");
  await env.AGENTS.put(line, JSON.stringify({ retellAgentId: agentId }));
  return { line, agentId };
}

describe("a signed status callback for an inbound call the line has no record of", () => {
  it("records the call as missed: inbound, From and To as Twilio sent them, under the number's agent, with Twilio's status", async () => {
    const { line, agentId } = await mappedNumber();
    const sid = callSid();
    const res = await send(callback(sid, line, "completed", { CallDuration: "34" }));
    expect(res.status).toBe(204);
    expect(await lineRecord(line, sid)).toMatchObject({
      callSid: sid,
      outcome: "missed",
      direction: "inbound",
      from: CALLER,
      to: line,
      accountSid: TEST_TWILIO_ACCOUNT_SID,
      agentKey: line,
      retellAgentId: agentId,
      twilioStatus: "completed",
      durationS: 34,
      voiceReceivedAt: null,
      retellCallId: null,
    });
  });

  it("reaches D1", async () => {
    const { line, agentId } = await mappedNumber();
    const sid = callSid();
    await send(callback(sid, line, "completed"));
    expect(await recordOf(sid, (row) => row.twilio_status === "completed")).toMatchObject({ outcome: "missed", direction: "inbound", retell_agent_id: agentId, from_number: CALLER });
  });

  it("records it without an agent when the number has no mapping", async () => {
    const line = uniqueNumber();
    const sid = callSid();
    await send(callback(sid, line, "no-answer"));
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "missed", agentKey: null, retellAgentId: null, twilioStatus: "no-answer" });
  });

  it("logs the result as missed, without the caller's full number", async () => {
    const { line } = await mappedNumber();
    const sid = callSid();
    const logs = captureLogs();
    await send(callback(sid, line, "completed"));
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.status", callSid: sid, result: "missed" }));
    expect(JSON.stringify(logs())).not.toContain(CALLER);
  });

  it("records a call answered while its line's object was unreachable (the line never learned the answer) as missed", async () => {
    const { line } = await mappedNumber();
    const sid = callSid();
    const answered = await withBindings(twilioRequest("/api/webhooks/twilio", voiceParams({ CallSid: sid, From: CALLER, To: line })), { LINES: failingLines });
    expect(answered.status).toBe(200);
    await send(callback(sid, line, "completed"));
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "missed", twilioStatus: "completed" });
  });

  it("makes one record per CallSid: later callbacks for it apply as usual", async () => {
    const { line } = await mappedNumber();
    const sid = callSid();
    const T0 = Date.parse("2026-11-20T09:00:00Z");
    const at = (s: number) => new Date(T0 + s * 1_000).toUTCString();
    await send(callback(sid, line, "in-progress", { SequenceNumber: "1", Timestamp: at(5) }));
    const first = await lineRecord(line, sid);
    await send(callback(sid, line, "completed", { SequenceNumber: "2", Timestamp: at(65), CallDuration: "60" }));
    await send(callback(sid, line, "completed", { SequenceNumber: "2", Timestamp: at(65), CallDuration: "60" }));
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "missed", createdAt: first?.createdAt, twilioStatus: "completed", twilioAnsweredAt: T0 + 5_000, durationS: 60 });
  });

  it("is refused with 403 and recorded nowhere when unsigned", async () => {
    const { line } = await mappedNumber();
    const sid = callSid();
    const res = await send(callback(sid, line, "completed"), { headers: { "X-Twilio-Signature": "" } });
    expect(res.status).toBe(403);
    expect(await lineRecord(line, sid)).toBeNull();
  });
});

describe("the line, asked once per inbound callback", () => {
  it("records a call it has no record of as missed in that one call", async () => {
    const { line, agentId } = await mappedNumber();
    const sid = callSid();
    const calls: string[] = [];
    expect((await withBindings(twilioRequest(STATUS_PATH, callback(sid, line, "completed")), { LINES: notingLines(calls) })).status).toBe(204);
    expect(calls).toEqual(["recordInboundStatus"]);
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "missed", retellAgentId: agentId, twilioStatus: "completed" });
  });

  it("applies the status to a call it holds in that one call", async () => {
    const call = await answeredCall();
    const calls: string[] = [];
    expect((await withBindings(twilioRequest(STATUS_PATH, callback(call.sid, call.line, "completed")), { LINES: notingLines(calls) })).status).toBe(204);
    expect(calls).toEqual(["recordInboundStatus"]);
    expect(await lineRecord(call.line, call.sid)).toMatchObject({ outcome: "connected", twilioStatus: "completed" });
  });
});

describe("calls that are not missed", () => {
  it("a call the line answered and has forgotten gets no second record", async () => {
    const call = await answeredCall();
    await send(callback(call.sid, call.line, "completed", { CallDuration: "60" }));
    await recordOf(call.sid, (row) => row.twilio_status === "completed");
    // The line forgets a finished call after FINISHED_GRACE_MS; its answer stays (line/answers.ts).
    await runInDurableObject(lineStub(env, lineName(call.line)), (_instance, state) => state.storage.sql.exec("DELETE FROM calls WHERE call_sid = ?", call.sid));
    const logs = captureLogs();
    await send(callback(call.sid, call.line, "completed", { CallDuration: "60" }));
    expect(logs()).toContainEqual(expect.objectContaining({ event: "twilio.status", callSid: call.sid, result: "unknown_call" }));
    expect(await lineRecord(call.line, call.sid)).toBeNull();
    expect(await readCall(call.sid)).toMatchObject({ outcome: "connected" });
  });

  it("a call whose voice webhook came first keeps its answer", async () => {
    const call = await answeredCall();
    await send(callback(call.sid, call.line, "completed"));
    expect(await lineRecord(call.line, call.sid)).toMatchObject({ outcome: "connected", twilioStatus: "completed" });
  });

  it.each([
    ["an outbound call's callback without its reservation", (sid: string, line: string) => callback(sid, line, "completed", { Direction: "outbound-api", From: line, To: CALLER })],
    ["a dialed leg's callback", (sid: string, line: string) => callback(sid, line, "completed", { Direction: "outbound-dial", From: line, To: CALLER })],
  ])("%s is not recorded", async (_name, params) => {
    const { line } = await mappedNumber();
    const sid = callSid();
    const res = await send(params(sid, line));
    expect(res.status).toBe(204);
    expect(await lineRecord(line, sid)).toBeNull();
  });

  it("an outbound call's callback naming a reservation its line does not hold is not recorded", async () => {
    const call = await placeCall();
    const other = { ...call, callSid: callSid(), statusPath: call.statusPath.replace(/reservation=[^&]+/, `reservation=${crypto.randomUUID()}`) };
    expect((await worker(statusRequest(other, "completed", 3))).status).toBe(204);
    expect(await lineRecord(call.from, other.callSid)).toBeNull();
  });
});

describe("a voice webhook for a call recorded missed", () => {
  it("is answered <Hangup/> once Twilio reported the call over: nothing registered, the record unchanged", async () => {
    const { line, agentId } = await mappedNumber();
    const sid = callSid();
    await send(callback(sid, line, "completed"));
    const before = await lineRecord(line, sid);
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ CallSid: sid, From: CALLER, To: line })));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    expect(await retellRequests(agentId)).toEqual([]);
    expect(await lineRecord(line, sid)).toEqual(before);
  });

  it("answers the call as usual while Twilio has not reported it over, and its answer replaces missed", async () => {
    const { line, agentId } = await mappedNumber();
    const sid = callSid();
    await send(callback(sid, line, "ringing"));
    const res = await worker(twilioRequest("/api/webhooks/twilio", voiceParams({ CallSid: sid, From: CALLER, To: line })));
    expect(await res.text()).toContain("<Sip>");
    expect(await retellRequests(agentId)).toHaveLength(1);
    expect(await lineRecord(line, sid)).toMatchObject({ outcome: "connected", twilioStatus: "ringing" });
  });
});

describe("missed calls in the statistics", () => {
  it("are counted as missed under the number's agent in GET /api/stats", async () => {
    const { line, agentId } = await mappedNumber();
    await send(callback(callSid(), line, "completed"));
    await send(callback(callSid(), line, "canceled"));
    const stats = await eventually(
      async () => (await (await worker(adminRequest(`/api/stats?agent=${agentId}`))).json()) as { agents: AgentStats[] },
      (body) => body.agents[0]?.total.calls === 2,
    );
    expect(stats.agents[0]?.total).toMatchObject({ calls: 2, missed: 2, connected: 0, failures: { missed: 2 } });
  });
});
