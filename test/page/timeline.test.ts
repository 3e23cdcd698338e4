/** The operator page's timeline of a call (page/src/timeline.ts), from the record GET /api/calls/:callSid returns. */
import { describe, expect, it } from "vitest";
import type { Delivery } from "../../src/records/delivery.ts";
import { CALL_COLUMNS, type CallRecord } from "../../src/records/list.ts";
import { timeOfDay } from "../../page/src/format.ts";
import { timeline, STEP_SOURCES, type StepSource } from "../../page/src/timeline.ts";
import { transferAttempt } from "../transfer-attempt.ts";

const T = Date.parse("2026-11-19T12:00:00Z");

/** A record with every field null but the given ones. */
function record(fields: Partial<CallRecord>): CallRecord {
  const empty = Object.fromEntries(Object.keys(CALL_COLUMNS).map((k) => [k, null])) as unknown as CallRecord;
  return { ...empty, callSid: `CA${"a".repeat(32)}`, createdAt: T, updatedAt: T, direction: "inbound", ...fields };
}

const titles = (call: CallRecord, sources?: StepSource[]) => timeline(call, [], sources).map((s) => s.title);

/** A delivery of one of the call's events to the endpoint `crm`, delivered at its first attempt unless told otherwise. */
function delivery(fields: Partial<Delivery>): Delivery {
  return {
    eventId: "msg_a", endpointId: "crm", callSid: `CA${"a".repeat(32)}`, sequence: 1, type: "call.started", state: "delivered", attempts: 1,
    lastStatus: 200, lastError: null, nextAttemptAt: null, createdAt: T, updatedAt: T + 300, deliveredAt: T + 300, ...fields,
  };
}

describe("timeline", () => {
  it("starts an outbound call with its placing, then the callee's answer and who answered", () => {
    const steps = timeline(record({ direction: "outbound", to: "+14155550166", voiceReceivedAt: T + 9_000, answeredBy: "human" }));
    expect(steps.map((s) => s.title)).toEqual(["Outbound call placed (POST /api/calls)", "Callee answered: Twilio fetched the call's webhook"]);
    expect(steps[1]?.details).toEqual(["answered by: human"]);
  });

  it("starts a call known only from a status callback with when it was first heard of", () => {
    expect(titles(record({ twilioStatus: "completed", twilioEndedAt: T + 5_000, durationS: 5 }))).toEqual(["First heard of (from a status callback or a Retell event)", "Twilio: completed"]);
  });

  it("marks the routing rules' decision as theirs", () => {
    const steps = timeline(record({ voiceReceivedAt: T, voiceAnsweredAt: T + 10, outcome: "blocked", outcomeReason: "global_blocklist" }));
    expect(steps.at(-1)).toEqual({ at: T + 10, kind: "rules", title: "Decision: blocked", details: ["reason: global_blocklist"] });
  });

  it("says why Twilio refused a transfer's call update", () => {
    const call = record({ transfers: [transferAttempt({ requestedAt: T, update: "refused", updateError: "twilio_timeout" })] });
    expect(timeline(call).find((s) => s.kind === "transfer")?.details).toEqual(["Twilio refused the call update (twilio_timeout)"]);
  });

  it("keeps the sources' order for steps at the same instant and lists undated steps last", () => {
    const call = record({ voiceReceivedAt: T, voiceAnsweredAt: T, retellRegisterMs: 90, outcome: "connected", fallbackStatus: "completed" });
    expect(titles(call)).toEqual(["Twilio's voice webhook received", "Registered with Retell", "Decision: connected", "Fallback dial ended: completed"]);
    expect(timeline(call).at(-1)?.at).toBeNull();
  });

  it("takes a new source's steps in time order with the others (how later fields join the timeline)", () => {
    const hook: StepSource = (call) => [{ at: (call.voiceReceivedAt ?? 0) + 5, kind: "webhook", title: "Pre-call hook answered", details: [] }];
    const call = record({ voiceReceivedAt: T, voiceAnsweredAt: T + 50, outcome: "connected" });
    expect(titles(call, [...STEP_SOURCES, hook])).toEqual(["Twilio's voice webhook received", "Pre-call hook answered", "Decision: connected"]);
  });

  it("shows the caller's verification and the pre-call hook's answer, with the agent it chose, before the decision", () => {
    const call = record({ voiceReceivedAt: T, voiceAnsweredAt: T + 40, stirVerstat: "TN-Validation-Passed-A", hookResult: "ok", hookMs: 21, retellAgentId: "agent_a", finalAgentId: "agent_vip", outcome: "connected" });
    const steps = timeline(call);
    expect(steps.map((s) => s.title)).toEqual(["Twilio's voice webhook received", "Caller verification (SHAKEN/STIR): TN-Validation-Passed-A", "Pre-call hook: ok", "Decision: connected"]);
    expect(steps[2]?.details).toEqual(["21 ms", "chose agent agent_vip"]);
  });

  it("shows a held caller's time in the queue and how they left it", () => {
    const call = record({ voiceReceivedAt: T, voiceAnsweredAt: T + 10, queuedAt: T + 10, heldMs: 30_000, outcome: "abandoned" });
    const steps = timeline(call);
    expect(steps.map((s) => s.title)).toEqual(["Twilio's voice webhook received", "Held in the line's queue", "Decision: abandoned", "Hung up while held"]);
    expect(steps.at(-1)).toEqual({ at: T + 30_010, kind: "hold", title: "Hung up while held", details: ["held 30 s"] });
  });

  it("shows the consent notice and the voicemail the caller left", () => {
    const voicemail = { recordingSid: `RE${"b".repeat(32)}`, url: "https://api.twilio.com/x", durationS: 14, status: "completed", reportedAt: T + 60_000 };
    const steps = timeline(record({ voiceReceivedAt: T, voiceAnsweredAt: T + 10, outcome: "voicemail", announced: true, voicemail }));
    expect(steps.map((s) => s.title)).toEqual(["Twilio's voice webhook received", "Decision: voicemail", "Consent notice played before the agent", "Voicemail completed"]);
    expect(steps.at(-1)?.details).toEqual(["14 s", `recording RE${"b".repeat(32)}`]);
  });

  it("places each delivery at its time among the call's steps, in the order of the call's events", () => {
    const call = record({ voiceReceivedAt: T, voiceAnsweredAt: T + 100, outcome: "connected", twilioStatus: "completed", twilioEndedAt: T + 60_000, durationS: 60 });
    const started = delivery({ eventId: "msg_started", sequence: 1, createdAt: T + 100, updatedAt: T + 400, deliveredAt: T + 400 });
    const ended = delivery({ eventId: "msg_ended", sequence: 2, type: "call.ended", createdAt: T + 60_000, updatedAt: T + 60_200, deliveredAt: T + 60_200 });
    const steps = timeline(call, [ended, started]);
    expect(steps.map((s) => [s.at, s.title])).toEqual([
      [T, "Twilio's voice webhook received"],
      [T + 100, "Decision: connected"],
      [T + 400, "Event call.started to endpoint crm: delivered"],
      [T + 60_000, "Twilio: completed"],
      [T + 60_200, "Event call.ended to endpoint crm: delivered"],
    ]);
    expect(steps[2]).toEqual({ at: T + 400, kind: "delivery", title: "Event call.started to endpoint crm: delivered", details: ["1 attempt", "last HTTP status 200", "event msg_started"] });
  });

  it("lists one event's deliveries at the same instant by endpoint", () => {
    const steps = timeline(record({}), [delivery({ endpointId: "warehouse" }), delivery({ endpointId: "crm" })]);
    expect(steps.map((s) => s.title)).toEqual(["First heard of (from a status callback or a Retell event)", "Event call.started to endpoint crm: delivered", "Event call.started to endpoint warehouse: delivered"]);
  });

  it.each<[string, Partial<Delivery>, string, string[], number]>([
    ["not tried yet, at the event's time", { state: "pending", attempts: 0, lastStatus: null, deliveredAt: null, updatedAt: T }, "queued", ["0 attempts", "event msg_a"], T],
    ["retrying, with the last answer and the next attempt", { state: "pending", attempts: 2, lastStatus: 503, lastError: "HTTP 503", nextAttemptAt: T + 600_000, deliveredAt: null }, "retrying", ["2 attempts", "last HTTP status 503", "last error: HTTP 503", `next attempt at ${timeOfDay(T + 600_000)}`, "event msg_a"], T + 300],
    ["retrying after no answer at all", { state: "pending", attempts: 1, lastStatus: null, lastError: "timed out after 15 s", deliveredAt: null }, "retrying", ["1 attempt", "no HTTP answer", "last error: timed out after 15 s", "event msg_a"], T + 300],
    ["failed after the last retry", { state: "failed", attempts: 10, lastStatus: 500, lastError: "HTTP 500", deliveredAt: null }, "failed", ["10 attempts", "last HTTP status 500", "last error: HTTP 500", "event msg_a"], T + 300],
    ["disabled by the endpoint's 410", { state: "failed", attempts: 1, lastStatus: 410, lastError: "410 Gone: endpoint turned off", deliveredAt: null }, "disabled", ["1 attempt", "last HTTP status 410", "last error: 410 Gone: endpoint turned off", "event msg_a"], T + 300],
    ["not sent to an endpoint the operator turned off", { state: "failed", attempts: 0, lastStatus: null, lastError: "endpoint turned off", deliveredAt: null, updatedAt: T + 50 }, "disabled", ["0 attempts", "last error: endpoint turned off", "event msg_a"], T],
    ["not sent to an endpoint removed from KV", { state: "failed", attempts: 0, lastStatus: null, lastError: "endpoint removed", deliveredAt: null, updatedAt: T + 50 }, "failed", ["0 attempts", "last error: endpoint removed", "event msg_a"], T],
  ])("says how a delivery stands, at its last attempt or else the event's time: %s", (_name, fields, standing, details, at) => {
    const step = timeline(record({}), [delivery(fields)]).find((s) => s.kind === "delivery");
    expect(step).toEqual({ at, kind: "delivery", title: `Event call.started to endpoint crm: ${standing}`, details });
  });
});
