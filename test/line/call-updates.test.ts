/**
 * src/line/call-updates.ts on a line's own storage: Twilio's and Retell's reports applied to the calls the line
 * holds, in order, and refused for calls it does not hold. Times are passed in, so no test waits for a clock.
 */
import { describe, expect, it } from "vitest";
import { storeAnswer } from "../../src/line/answers.ts";
import { recordInboundStatus, recordStatus, recordVoicemail } from "../../src/line/call-updates.ts";
import { readCall, writeCall } from "../../src/line/calls-table.ts";
import { newRecord } from "../../src/line/transitions.ts";
import { onLineStorage } from "./storage.ts";

const T0 = 1_800_000_000_000;
/** How long answers are kept (RETENTION_DAYS), for a missed call's answer. */
const KEEP_MS = 30 * 24 * 60 * 60 * 1_000;
const RECORDING = { recordingSid: "RE" + "0".repeat(32), url: "https://api.twilio.com/recording", durationS: 12, status: "completed", reportedAt: T0 + 5 };

describe("recordStatus", () => {
  it("knows no call the line does not hold", async () => {
    expect(await onLineStorage((sql) => recordStatus(sql, { callSid: "CAnone", status: "ringing" }, T0, KEEP_MS))).toBe("unknown_call");
  });

  it("records a later status and calls an earlier one stale, keeping the later", async () => {
    const { results, status } = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      const results = [recordStatus(sql, { callSid: "CA1", status: "completed", durationS: 30 }, T0 + 2, KEEP_MS), recordStatus(sql, { callSid: "CA1", status: "in-progress" }, T0 + 3, KEEP_MS)];
      return { results, status: readCall(sql, "CA1")?.twilioStatus };
    });
    expect(results).toEqual(["recorded", "stale"]);
    expect(status).toBe("completed");
  });
});

describe("recordInboundStatus", () => {
  const AGENT = { agentKey: "+14155550100", retellAgentId: "agent_missed" };

  it("applies the status to a call the line holds, as recordStatus", async () => {
    const { result, record } = await onLineStorage((sql) => {
      writeCall(sql, "CA1", { ...newRecord("CA1", T0), outcome: "connected" }, null);
      return { result: recordInboundStatus(sql, { callSid: "CA1", status: "completed" }, T0 + 2, AGENT, KEEP_MS), record: readCall(sql, "CA1") };
    });
    expect(result).toBe("recorded");
    expect(record).toMatchObject({ outcome: "connected", twilioStatus: "completed", retellAgentId: null });
  });

  it("records a call the line holds no record of as missed, under the number's agent", async () => {
    const { result, record } = await onLineStorage((sql) => ({ result: recordInboundStatus(sql, { callSid: "CA1", status: "completed" }, T0, AGENT, KEEP_MS), record: readCall(sql, "CA1") }));
    expect(result).toBe("missed");
    expect(record).toMatchObject({ outcome: "missed", direction: "inbound", ...AGENT, twilioStatus: "completed" });
  });

  it("records nothing for a call the line answered and has forgotten", async () => {
    const { result, record } = await onLineStorage((sql) => {
      storeAnswer(sql, "CA1", { kind: "internal_error" }, T0, KEEP_MS);
      return { result: recordInboundStatus(sql, { callSid: "CA1", status: "completed" }, T0 + 2, AGENT, KEEP_MS), record: readCall(sql, "CA1") };
    });
    expect(result).toBe("unknown_call");
    expect(record).toBeNull();
  });
});

describe("recordVoicemail", () => {
  it("keeps a recording once, and calls its repeat stale", async () => {
    const { results, voicemail } = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      const results = [recordVoicemail(sql, "CA1", RECORDING), recordVoicemail(sql, "CA1", { ...RECORDING, status: "in-progress" }), recordVoicemail(sql, "CAnone", RECORDING)];
      return { results, voicemail: readCall(sql, "CA1")?.voicemail };
    });
    expect(results).toEqual(["recorded", "stale", "unknown_call"]);
    expect(voicemail).toEqual(RECORDING);
  });
});
