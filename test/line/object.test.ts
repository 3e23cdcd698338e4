/**
 * src/line/object.ts through its RPC methods, without Hono: one registration per CallSid under concurrency,
 * the copy to D1 from the alarm (D1 failing, hanging, renamed away and back), and forgetting finished calls.
 */
import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PhoneLine } from "../../src/line/object.ts";
import { COPY_BACKOFF_MS } from "../../src/line/alarm.ts";
import { CLAIM_TTL_MS, FINISHED_GRACE_MS, STALE_CALL_MS, writeCall } from "../../src/line/calls-table.ts";
import type { VoiceClaim } from "../../src/line/claims.ts";
import { COPY_RETRY_WINDOW_MS } from "../../src/line/d1-copy.ts";
import { lineStub } from "../../src/line/address.ts";
import { newRecord, type VoiceAnswer } from "../../src/line/transitions.ts";
import type { CallRecord } from "../../src/records/list.ts";
import type { VoiceOutcome } from "../../src/line/voice-outcome.ts";
import { callSid, uniqueNumber } from "../helpers.ts";
import { failingDb, hangingDb, readCall } from "../records.ts";

/** A connected outcome with a Retell call id of its own (D1 holds each Retell call id once). */
function connected(): Extract<VoiceOutcome, { kind: "connected" }> {
  const retellCallId = `call_${crypto.randomUUID().replaceAll("-", "")}`;
  return { kind: "connected", retellCallId, sipUri: `sip:${retellCallId}@sip.retellai.com;transport=tcp` };
}
const FAILED: VoiceOutcome = { kind: "retell_failed", reason: "retell_unavailable" };

function newLine(): { line: string; stub: DurableObjectStub<PhoneLine> } {
  const line = uniqueNumber();
  return { line, stub: lineStub(env, line) };
}

function details(line: string) {
  return { from: "+14155550100", to: line, accountSid: "AC" + "0".repeat(32), receivedAt: Date.now() };
}

function answer(line: string, outcome: VoiceOutcome): VoiceAnswer {
  const now = Date.now();
  return {
    agentKey: line,
    from: "+14155550100",
    to: line,
    outcome: outcome.kind,
    receivedAt: now,
    answeredAt: now,
    ...(outcome.kind === "connected" && { retellCallId: outcome.retellCallId, registerMs: 12, registerAttempts: 1 }),
    ...("reason" in outcome && { outcomeReason: outcome.reason }),
  };
}

/** A connected call's record as the line writes it, with the given Retell call id. */
function connectedRecord(sid: string, retellCallId: string): CallRecord {
  return { ...newRecord(sid, Date.now()), outcome: "connected", retellCallId };
}

function claimed(claim: VoiceClaim): string {
  if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${JSON.stringify(claim)}`);
  return claim.token;
}

/** Runs SQL on the object's own storage (to age a claim or a failure without waiting for hours). */
function sql(stub: DurableObjectStub<PhoneLine>, query: string, ...params: SqlStorageValue[]): Promise<void> {
  return runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec(query, ...params);
  });
}

function logged(spy: { mock: { calls: unknown[][] } }, event: string): Record<string, unknown>[] {
  return spy.mock.calls.map((args) => JSON.parse(String(args[0])) as Record<string, unknown>).filter((line) => line.event === event);
}

afterEach(() => vi.restoreAllMocks());

describe("claimVoice", () => {
  it("gives the claim to exactly one of 10 copies arriving at once; the other 9 get its answer", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    const CONNECTED = connected();
    const claims = Array.from({ length: 10 }, () => stub.claimVoice(sid, details(line), 5_000));
    const first = await Promise.race(claims);
    const token = claimed(first);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await stub.completeVoice(sid, token, answer(line, CONNECTED), CONNECTED)).toBe(true);
    const all = await Promise.all(claims);
    expect(all.filter((c) => c.kind === "claimed")).toHaveLength(1);
    expect(all.filter((c) => c.kind === "answered")).toEqual(Array(9).fill({ kind: "answered", outcome: CONNECTED }));
  });

  it("answers a copy arriving after the answer with the same Retell call, and claims nothing", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    const CONNECTED = connected();
    const token = claimed(await stub.claimVoice(sid, details(line), 5_000));
    await stub.completeVoice(sid, token, answer(line, CONNECTED), CONNECTED);
    expect(await stub.claimVoice(sid, details(line), 5_000)).toEqual({ kind: "answered", outcome: CONNECTED });
  });

  it("hands a failed registration to the copies waiting for it, and lets a later copy register again", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    const token = claimed(await stub.claimVoice(sid, details(line), 5_000));
    const waiting = stub.claimVoice(sid, details(line), 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await stub.completeVoice(sid, token, answer(line, FAILED), FAILED);
    expect(await waiting).toEqual({ kind: "answered", outcome: FAILED });
    expect((await stub.claimVoice(sid, details(line), 5_000)).kind).toBe("claimed");
  });

  it("answers still_registering when the registration outlasts the copy's wait", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    claimed(await stub.claimVoice(sid, details(line), 5_000));
    expect(await stub.claimVoice(sid, details(line), 100)).toEqual({ kind: "still_registering" });
  });

  it("takes over a claim older than CLAIM_TTL_MS, and refuses the old claim's late answer", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    const CONNECTED = connected();
    const old = claimed(await stub.claimVoice(sid, details(line), 5_000));
    await sql(stub, "UPDATE calls SET claimed_at = claimed_at - ?", CLAIM_TTL_MS + 1);
    const fresh = claimed(await stub.claimVoice(sid, details(line), 5_000));
    expect(fresh).not.toBe(old);
    expect(await stub.completeVoice(sid, old, answer(line, CONNECTED), CONNECTED)).toBe(false);
    expect(await stub.completeVoice(sid, fresh, answer(line, FAILED), FAILED)).toBe(true);
    expect((await stub.call(sid))?.outcome).toBe("retell_failed");
  });
});

describe("events for calls the line does not hold", () => {
  it.each([
    ["recordStatus", (stub: DurableObjectStub<PhoneLine>, sid: string) => stub.recordStatus({ callSid: sid, status: "completed" }, Date.now())],
    ["recordDial", (stub: DurableObjectStub<PhoneLine>, sid: string) => stub.recordDial({ report: { callSid: sid, leg: "retell", agentKey: null }, endedAt: Date.now() })],
    ["recordRetellEvent", (stub: DurableObjectStub<PhoneLine>, sid: string) => stub.recordRetellEvent(sid, { event: "call_ended", callId: "call_x" }, Date.now())],
  ])("%s answers unknown_call and stores nothing", async (_name, send) => {
    const { stub } = newLine();
    const sid = callSid();
    expect(await send(stub, sid)).toBe("unknown_call");
    expect(await stub.call(sid)).toBeNull();
  });
});

/** A line holding one answered, finished call. */
async function finishedCall(): Promise<{ line: string; stub: DurableObjectStub<PhoneLine>; sid: string; callId: string }> {
  const { line, stub } = newLine();
  const sid = callSid();
  const CONNECTED = connected();
  const token = claimed(await stub.claimVoice(sid, details(line), 5_000));
  await stub.completeVoice(sid, token, answer(line, CONNECTED), CONNECTED);
  await stub.recordStatus({ callSid: sid, status: "completed", durationS: 42, sequence: 3, timestamp: Date.now() }, Date.now());
  await stub.recordRetellEvent(sid, { event: "call_analyzed", callId: CONNECTED.retellCallId, status: "ended", summary: "Booked a table." }, Date.now());
  return { line, stub, sid, callId: CONNECTED.retellCallId };
}

describe("the copy to D1", () => {
  it("writes the whole record from the alarm", async () => {
    const { stub, sid, callId } = await finishedCall();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await readCall(sid)).toMatchObject({
      call_sid: sid,
      outcome: "connected",
      retell_call_id: callId,
      twilio_status: "completed",
      duration_s: 42,
      retell_status: "ended",
      call_summary: "Booked a table.",
      retell_register_ms: 12,
    });
  });

  it("keeps the calls pending while D1 fails, logs the failure, and copies them once D1 answers", async () => {
    const { stub, sid } = await finishedCall();
    const warn = vi.spyOn(console, "warn");
    const failed = await runInDurableObject(stub, (line) => line.copyToD1(failingDb, Date.now()));
    expect(failed).toEqual({ copied: 0, failed: true, pending: 1 });
    expect(logged(warn, "records.copy_failed")[0]).toMatchObject({ calls: 1, detail: expect.stringContaining("simulated outage") });
    expect(await readCall(sid)).toBeNull();
    const copied = await runInDurableObject(stub, (line) => line.copyToD1(env.DB, Date.now()));
    expect(copied).toEqual({ copied: 1, failed: false, pending: 0 });
    expect(await readCall(sid)).toMatchObject({ twilio_status: "completed", call_summary: "Booked a table." });
  });

  it("treats a D1 that hangs as failing, within the copy's time limit", async () => {
    const { stub } = await finishedCall();
    const { db } = hangingDb();
    const result = await runInDurableObject(stub, (line) => line.copyToD1(db, Date.now(), 50));
    expect(result).toEqual({ copied: 0, failed: true, pending: 1 });
  });

  it("retries from the alarm within 30 s while D1 is down, and the record appears complete once it is back", async () => {
    const { stub, sid, callId } = await finishedCall();
    // A real D1 failure: the table is gone for the length of the outage.
    await env.DB.exec("ALTER TABLE calls RENAME TO calls_outage");
    try {
      const before = Date.now();
      await runDurableObjectAlarm(stub);
      const next = await runInDurableObject(stub, (_line, state) => state.storage.getAlarm());
      expect(next).not.toBeNull();
      expect((next as number) - before).toBeLessThanOrEqual(COPY_BACKOFF_MS.at(-1) as number);
    } finally {
      await env.DB.exec("ALTER TABLE calls_outage RENAME TO calls");
    }
    expect(await readCall(sid)).toBeNull();
    await runDurableObjectAlarm(stub);
    expect(await readCall(sid)).toMatchObject({ outcome: "connected", retell_call_id: callId, twilio_status: "completed", duration_s: 42, call_summary: "Booked a table." });
  });

  it("never waits more than 30 s between retries, however long D1 stays down", () => {
    expect(Math.max(...COPY_BACKOFF_MS)).toBeLessThanOrEqual(30_000);
  });

  it("logs a call D1 refused for the whole retry window with its CallSid, then gives up on it", async () => {
    const { stub, sid } = await finishedCall();
    const now = Date.now();
    await sql(stub, "UPDATE calls SET copy_failing_since = ?", now - COPY_RETRY_WINDOW_MS);
    const error = vi.spyOn(console, "error");
    const result = await runInDurableObject(stub, (line) => line.copyToD1(failingDb, now));
    expect(result.pending).toBe(0);
    expect(logged(error, "records.copy_abandoned")).toEqual([expect.objectContaining({ callSid: sid, outcome: "connected" })]);
  });

  it("copies a change made after a copy in the next one", async () => {
    const { stub, sid } = await finishedCall();
    await runDurableObjectAlarm(stub);
    await stub.recordDial({ report: { callSid: sid, leg: "retell", agentKey: null, status: "completed", durationS: 40 }, endedAt: Date.now() });
    await runDurableObjectAlarm(stub);
    expect(await readCall(sid)).toMatchObject({ dial_status: "completed", dial_duration_s: 40 });
  });
});

describe("forgetting calls", () => {
  it("keeps a finished call through the grace period, then forgets it once copied", async () => {
    const { stub, sid } = await finishedCall();
    const forget = (at: number) => runInDurableObject(stub, (line) => line.forgetFinished(at));
    expect(await forget(Date.now() + FINISHED_GRACE_MS + 1_000)).toBe(0);
    await runDurableObjectAlarm(stub);
    expect(await forget(Date.now())).toBe(0);
    expect(await forget(Date.now() + FINISHED_GRACE_MS + 1_000)).toBe(1);
    expect(await stub.call(sid)).toBeNull();
    expect(await readCall(sid)).toMatchObject({ twilio_status: "completed" });
  });

  it("forgets a call with no final status once it has been silent for STALE_CALL_MS", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    const CONNECTED = connected();
    const token = claimed(await stub.claimVoice(sid, details(line), 5_000));
    await stub.completeVoice(sid, token, answer(line, CONNECTED), CONNECTED);
    await runDurableObjectAlarm(stub);
    const forget = (at: number) => runInDurableObject(stub, (l) => l.forgetFinished(at));
    expect(await forget(Date.now() + FINISHED_GRACE_MS + 1_000)).toBe(0);
    expect(await forget(Date.now() + STALE_CALL_MS + 1_000)).toBe(1);
  });

  it("forgets a call whose claimer never answered, once the claim is dead and the call silent for STALE_CALL_MS", async () => {
    const { line, stub } = newLine();
    const sid = callSid();
    claimed(await stub.claimVoice(sid, details(line), 5_000));
    await runDurableObjectAlarm(stub);
    expect(await runInDurableObject(stub, (l) => l.forgetFinished(Date.now() + STALE_CALL_MS + 1_000))).toBe(1);
  });

  it("holds nothing once every call is forgotten: the storage does not grow with the calls ever made", async () => {
    const { stub } = await finishedCall();
    await runDurableObjectAlarm(stub);
    await runInDurableObject(stub, (line) => line.forgetFinished(Date.now() + FINISHED_GRACE_MS + 1_000));
    const rows = await runInDurableObject(stub, (_line, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM calls").one().n);
    expect(rows).toBe(0);
  });
});

describe("a call D1 refuses", () => {
  it("costs at most three D1 calls per round while D1 refuses everything", async () => {
    const { stub } = newLine();
    let asked = 0;
    const refusing = {
      prepare: () => ({ bind: () => ({}) }),
      batch: () => {
        asked++;
        return Promise.reject(new Error("D1_ERROR: no such table: calls"));
      },
    } as unknown as D1Database;
    // Five changed calls written straight to the line's storage, which sets no alarm: the round below is the only
    // one, however long the machine takes (a change through the RPC methods would let the alarm copy first).
    const result = await runInDurableObject(stub, (l, state) => {
      for (const sid of Array.from({ length: 5 }, () => callSid())) writeCall(state.storage.sql, sid, connectedRecord(sid, connected().retellCallId), null);
      return l.copyToD1(refusing, Date.now());
    });
    expect(result).toEqual({ copied: 0, failed: true, pending: 5 });
    expect(asked).toBe(3);
  });

  it("does not hold back the other calls of its batch", async () => {
    const { stub } = newLine();
    const first = callSid();
    const { retellCallId } = connected();
    // Two changed calls in one batch, written straight to the line's storage (no alarm copies them first), the
    // second with the first one's Retell call id: D1's unique index refuses it.
    const result = await runInDurableObject(stub, (line, state) => {
      writeCall(state.storage.sql, first, connectedRecord(first, retellCallId), null);
      const clash = callSid();
      writeCall(state.storage.sql, clash, connectedRecord(clash, retellCallId), null);
      return line.copyToD1(env.DB, Date.now());
    });
    expect(result).toMatchObject({ copied: 1, failed: true, pending: 1 });
    expect(await readCall(first)).toMatchObject({ retell_call_id: retellCallId });
  });
});
