/** src/records/store.ts upsertCalls: a copy never replaces a more complete record with an older or emptier one. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newRecord } from "../../src/line/transitions.ts";
import type { CallRecord } from "../../src/records/list.ts";
import { getCall, upsertCalls } from "../../src/records/store.ts";
import { callSid } from "../helpers.ts";

/** A finished, connected call's record, created at `createdAt`. */
function complete(sid: string, createdAt: number): CallRecord {
  return {
    ...newRecord(sid, createdAt),
    agentKey: "+61390000000",
    from: "+14155550100",
    to: "+61390000000",
    outcome: "connected",
    retellCallId: `call_${crypto.randomUUID().replaceAll("-", "")}`,
    twilioStatus: "completed",
    durationS: 184,
    callSummary: "Asked about opening hours.",
    updatedAt: createdAt + 200_000,
  };
}

describe("upsertCalls", () => {
  it("keeps the stored record when a copy was created later (a call recreated after the line forgot it)", async () => {
    const sid = callSid();
    const stored = complete(sid, Date.now() - 2 * 60 * 60 * 1_000);
    await upsertCalls(env.DB, [stored]);
    const recreated: CallRecord = { ...newRecord(sid, Date.now()), from: "+14155550100", to: "+61390000000", outcome: "connected" };
    await upsertCalls(env.DB, [recreated]);
    expect(await getCall(env.DB, sid)).toMatchObject({ createdAt: stored.createdAt, twilioStatus: "completed", durationS: 184, callSummary: "Asked about opening hours." });
  });

  it("applies a later copy of the same call", async () => {
    const sid = callSid();
    const first = { ...newRecord(sid, Date.now() - 1_000), from: "+14155550100" };
    await upsertCalls(env.DB, [first]);
    await upsertCalls(env.DB, [{ ...first, twilioStatus: "completed", durationS: 9, updatedAt: Date.now() }]);
    expect(await getCall(env.DB, sid)).toMatchObject({ twilioStatus: "completed", durationS: 9 });
  });
});
