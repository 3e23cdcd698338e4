/**
 * src/line/d1-copy.ts on a line's own storage: changed calls copied to D1 and marked copied, a failing D1 leaving
 * them pending with the time the failure began, and a call refused for COPY_RETRY_WINDOW_MS given up on.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callRow, pendingCount, writeCall } from "../../src/line/calls-table.ts";
import { COPY_DELAY_MS, COPY_RETRY_WINDOW_MS, copyDelayMs, copyToD1 } from "../../src/line/d1-copy.ts";
import { newRecord } from "../../src/line/transitions.ts";
import { callSid } from "../helpers.ts";
import { failingDb, readCall } from "../records.ts";
import { onLineStorage } from "./storage.ts";

describe("copyToD1", () => {
  it("copies the changed calls to D1 and leaves none pending", async () => {
    const sid = callSid();
    const result = await onLineStorage((sql) => (writeCall(sql, sid, newRecord(sid, Date.now()), null), copyToD1(sql, env.DB, Date.now())));
    expect(result).toEqual({ copied: 1, failed: false, pending: 0 });
    expect(await readCall(sid)).toMatchObject({ call_sid: sid });
  });

  it("has nothing to do when no call changed", async () => {
    expect(await onLineStorage((sql) => copyToD1(sql, env.DB, Date.now()))).toEqual({ copied: 0, failed: false, pending: 0 });
  });

  it("keeps the calls pending while D1 fails, marking when the failure began", async () => {
    const now = Date.now();
    const { result, since } = await onLineStorage(async (sql) => {
      writeCall(sql, "CA1", newRecord("CA1", now), null);
      const result = await copyToD1(sql, failingDb, now);
      return { result, since: callRow(sql, "CA1")?.copy_failing_since };
    });
    expect(result).toEqual({ copied: 0, failed: true, pending: 1 });
    expect(since).toBe(now);
  });

  it("gives up on a call D1 has refused for COPY_RETRY_WINDOW_MS", async () => {
    const now = Date.now();
    const pending = await onLineStorage(async (sql) => {
      writeCall(sql, "CA1", newRecord("CA1", now), null);
      sql.exec("UPDATE calls SET copy_failing_since = ?", now - COPY_RETRY_WINDOW_MS);
      await copyToD1(sql, failingDb, now);
      return pendingCount(sql);
    });
    expect(pending).toBe(0);
  });
});

describe("copyDelayMs", () => {
  it.each([
    [undefined, COPY_DELAY_MS],
    ["50", 50],
    ["0", 0],
    [String(COPY_DELAY_MS), COPY_DELAY_MS],
    [String(COPY_DELAY_MS + 1), COPY_DELAY_MS],
    ["", COPY_DELAY_MS],
    ["-5", COPY_DELAY_MS],
    ["0.5", COPY_DELAY_MS],
    ["soon", COPY_DELAY_MS],
  ])("takes LINE_COPY_DELAY_MS %j as %i ms: a shorter whole number only, else the deployed second", (setting, ms) => {
    expect(copyDelayMs(setting)).toBe(ms);
  });
});
