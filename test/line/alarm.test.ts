/**
 * src/line/alarm.ts on a line's own storage: when the alarm runs next (backoff while a copy or send fails, at
 * once while more waits, else the first thing due), and an alarm only ever moved earlier.
 */
import { describe, expect, it } from "vitest";
import { COPY_BACKOFF_MS, FORGET_INTERVAL_MS, forgetExpired, nextAlarmAt, Alarm } from "../../src/line/alarm.ts";
import { FINISHED_GRACE_MS, writeCall } from "../../src/line/calls-table.ts";
import { COPY_DELAY_MS } from "../../src/line/d1-copy.ts";
import { reserveOutbound } from "../../src/line/outbound.ts";
import { keepWhisper, WHISPER_TTL_MS } from "../../src/line/whispers.ts";
import { newRecord } from "../../src/line/transitions.ts";
import { SLOT_TIMEOUT_MS } from "../../src/line/outbound-limits.ts";
import { onLineStorage } from "./storage.ts";

const T0 = 1_800_000_000_000;
const IDLE = { failed: false, failures: 0, pending: 0 };

describe("nextAlarmAt", () => {
  it.each([
    [1, COPY_BACKOFF_MS[0]],
    [3, COPY_BACKOFF_MS[2]],
    [99, COPY_BACKOFF_MS.at(-1)],
  ])("after %i failed copies in a row, retries %i ms later", async (failures, delay) => {
    expect(await onLineStorage((sql) => nextAlarmAt(sql, T0, { failed: true, failures, pending: 1 }, IDLE))).toBe(T0 + delay!);
  });

  it("backs off by the failed send's count when the copy succeeded", async () => {
    expect(await onLineStorage((sql) => nextAlarmAt(sql, T0, { ...IDLE, failures: 4 }, { failed: true, failures: 2, pending: 1 }))).toBe(T0 + COPY_BACKOFF_MS[1]!);
  });

  it("runs again at once while calls or events wait for the next batch", async () => {
    expect(await onLineStorage((sql) => [nextAlarmAt(sql, T0, { ...IDLE, pending: 3 }, IDLE), nextAlarmAt(sql, T0, IDLE, { ...IDLE, pending: 1 })])).toEqual([T0, T0]);
  });

  it("is null for a line holding nothing", async () => {
    expect(await onLineStorage((sql) => nextAlarmAt(sql, T0, IDLE, IDLE))).toBeNull();
  });

  it("is the earliest of a call to forget and an outbound slot to expire", async () => {
    const due = await onLineStorage((sql) => {
      writeCall(sql, "CA1", { ...newRecord("CA1", T0), twilioStatus: "completed" }, null);
      const callOnly = nextAlarmAt(sql, T0, IDLE, IDLE);
      reserveOutbound(sql, { to: "+14155550123", from: "+14155550199", agentKey: "+14155550199", agent: { retellAgentId: "a" }, machineDetection: "off" }, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 10 }, T0);
      return [callOnly, nextAlarmAt(sql, T0, IDLE, IDLE)];
    });
    expect(due).toEqual([T0 + FINISHED_GRACE_MS, Math.min(T0 + FINISHED_GRACE_MS, T0 + SLOT_TIMEOUT_MS)]);
  });

  it("puts what only waits to be forgotten no earlier than the next forgetting, and an outbound slot's expiry on time", async () => {
    const forgetAfter = T0 + SLOT_TIMEOUT_MS + FINISHED_GRACE_MS;
    const due = await onLineStorage((sql) => {
      writeCall(sql, "CA1", { ...newRecord("CA1", T0), twilioStatus: "completed" }, null);
      const callOnly = nextAlarmAt(sql, T0, IDLE, IDLE, forgetAfter);
      reserveOutbound(sql, { to: "+14155550123", from: "+14155550199", agentKey: "+14155550199", agent: { retellAgentId: "a" }, machineDetection: "off" }, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 10 }, T0);
      return [callOnly, nextAlarmAt(sql, T0, IDLE, IDLE, forgetAfter)];
    });
    expect(due).toEqual([forgetAfter, T0 + SLOT_TIMEOUT_MS]);
  });
});

describe("forgetExpired", () => {
  it("forgets at most once a FORGET_INTERVAL_MS, and expires outbound slots every time", async () => {
    const t1 = T0 + WHISPER_TTL_MS;
    const t2 = t1 + 1_000;
    const seen = await onLineStorage((sql) => {
      const whispers = () => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM whispers").one().n;
      const activeSlots = () => sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM outbound WHERE active = 1").one().n;
      keepWhisper(sql, "CA1", "first", T0);
      const first = forgetExpired(sql, t1, 0);
      const afterFirst = whispers();
      keepWhisper(sql, "CA2", "second", T0);
      reserveOutbound(sql, { to: "+14155550123", from: "+14155550199", agentKey: "+14155550199", agent: { retellAgentId: "a" }, machineDetection: "off" }, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 10 }, t2 - SLOT_TIMEOUT_MS);
      const within = forgetExpired(sql, t2, first);
      const kept = { whispers: whispers(), slots: activeSlots() };
      const again = forgetExpired(sql, first, first);
      return { first, afterFirst, within, kept, again, whispersLeft: whispers() };
    });
    expect(seen).toEqual({
      first: t1 + FORGET_INTERVAL_MS,
      afterFirst: 0,
      within: t1 + FORGET_INTERVAL_MS,
      kept: { whispers: 1, slots: 0 },
      again: t1 + 2 * FORGET_INTERVAL_MS,
      whispersLeft: 0,
    });
  });
});

describe("Alarm", () => {
  it("moves the alarm earlier, never later", async () => {
    const at = Date.now() + 60_000;
    const alarms = await onLineStorage(async (_sql, storage) => {
      await storage.deleteAlarm();
      const alarm = new Alarm(storage);
      await alarm.noLaterThan(at);
      await alarm.noLaterThan(at + 1_000);
      const kept = await storage.getAlarm();
      await alarm.noLaterThan(at - 1_000);
      const moved = await storage.getAlarm();
      await storage.deleteAlarm();
      return [kept, moved];
    });
    expect(alarms).toEqual([at, at - 1_000]);
  });

  it("reads the alarm already set before moving it", async () => {
    const at = Date.now() + 60_000;
    const alarm = await onLineStorage(async (_sql, storage) => {
      await storage.setAlarm(at);
      await new Alarm(storage).noLaterThan(at + 1_000);
      const kept = await storage.getAlarm();
      await storage.deleteAlarm();
      return kept;
    });
    expect(alarm).toBe(at);
  });

  it("sets the alarm again once it has fired", async () => {
    const at = Date.now() + 60_000;
    const alarm = await onLineStorage(async (_sql, storage) => {
      await storage.deleteAlarm();
      const clock = new Alarm(storage);
      await clock.noLaterThan(at - 1_000);
      // The runtime ran the alarm (and removed it) before calling the handler, which says so.
      await storage.deleteAlarm();
      clock.fired();
      await clock.noLaterThan(at);
      const set = await storage.getAlarm();
      await storage.deleteAlarm();
      return set;
    });
    expect(alarm).toBe(at);
  });

  it.each([
    ["the deployed copy delay", undefined, COPY_DELAY_MS],
    ["a shorter one it is given", 50, 50],
  ])("sets the alarm %s after a change", async (_name, delay, ms) => {
    const now = Date.now() + 60_000;
    const alarm = await onLineStorage(async (_sql, storage) => {
      await storage.deleteAlarm();
      await new Alarm(storage, delay).copySoon(now);
      const set = await storage.getAlarm();
      await storage.deleteAlarm();
      return set;
    });
    expect(alarm).toBe(now + ms);
  });

  it("keeps the earlier of two changes that read the stored alarm at the same time", async () => {
    const at = Date.now() + 60_000;
    const alarm = await onLineStorage(async (_sql, storage) => {
      await storage.setAlarm(at + 10_000);
      const clock = new Alarm(storage);
      await Promise.all([clock.noLaterThan(at), clock.noLaterThan(at + 5_000)]);
      const set = await storage.getAlarm();
      await storage.deleteAlarm();
      return set;
    });
    expect(alarm).toBe(at);
  });
});
