/** src/line/missed.ts: which unknown calls may be recorded as missed, their record, and the answer kept once over. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import { storeAnswer, storedAnswer } from "../../src/line/answers.ts";
import { mayRecordMissed, missedRecord, rememberMissed } from "../../src/line/missed.ts";
import { adoptOutbound, reserveOutbound, type PlacedContext } from "../../src/line/outbound.ts";
import { newRecord } from "../../src/line/transitions.ts";
import { uniqueNumber } from "../helpers.ts";

const DAY_MS = 24 * 60 * 60 * 1_000;
const PLACED: PlacedContext = { to: "+14155550123", from: "+14155550199", agentKey: "+14155550199", agent: { retellAgentId: "agent_out" }, machineDetection: "off" };

/** Runs `work` on a fresh line object's own SQLite storage (its tables created by the object). */
function onStorage<T>(work: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_instance, state) => work(state.storage.sql));
}

describe("mayRecordMissed", () => {
  it("allows a CallSid the line never answered nor placed", async () => {
    expect(await onStorage((sql) => mayRecordMissed(sql, "CAnew"))).toBe(true);
  });

  it("refuses a CallSid whose answer the line keeps (answered, then forgotten)", async () => {
    expect(await onStorage((sql) => (storeAnswer(sql, "CAanswered", { kind: "internal_error" }, 1, DAY_MS), mayRecordMissed(sql, "CAanswered")))).toBe(false);
  });

  it("refuses a CallSid bound to one of the line's outbound reservations", async () => {
    const may = await onStorage((sql) => {
      const reservation = reserveOutbound(sql, PLACED, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 1 }, 1);
      if (reservation.ok) adoptOutbound(sql, reservation.reservationId, "CAplaced", undefined);
      return mayRecordMissed(sql, "CAplaced");
    });
    expect(may).toBe(false);
  });
});

describe("missedRecord", () => {
  it("is an inbound record with outcome missed under the number's agent, nothing else known yet", () => {
    expect(missedRecord("CA1", 1_000, { agentKey: "+61341517921", retellAgentId: "agent_a" })).toEqual({
      ...newRecord("CA1", 1_000),
      direction: "inbound",
      outcome: "missed",
      agentKey: "+61341517921",
      retellAgentId: "agent_a",
    });
  });

  it("has no agent when the number had no mapping", () => {
    expect(missedRecord("CA1", 1_000, null)).toMatchObject({ agentKey: null, retellAgentId: null });
  });
});

describe("rememberMissed", () => {
  const over = { ...missedRecord("CAover", 5_000, null), twilioStatus: "completed" as const, updatedAt: 9_000 };

  it("keeps a missed call's answer, `missed`, once Twilio reported it over, for as long as answers are kept", async () => {
    const stored = await onStorage((sql) => (rememberMissed(sql, over, DAY_MS), storedAnswer(sql, "CAover")));
    expect(stored).toEqual({ outcome: { kind: "missed" }, answeredAt: 9_000 });
  });

  it.each([
    ["a missed call still going", { ...over, twilioStatus: "ringing" as const }],
    ["a call with another outcome", { ...over, outcome: "connected" as const }],
  ])("keeps nothing for %s", async (_name, record) => {
    expect(await onStorage((sql) => (rememberMissed(sql, record, DAY_MS), storedAnswer(sql, "CAover")))).toBeNull();
  });

  it("never replaces an answer the line gave", async () => {
    const stored = await onStorage((sql) => {
      storeAnswer(sql, "CAover", { kind: "internal_error" }, 1, DAY_MS);
      rememberMissed(sql, over, DAY_MS);
      return storedAnswer(sql, "CAover");
    });
    expect(stored?.outcome).toEqual({ kind: "internal_error" });
  });
});
