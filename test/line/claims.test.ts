/**
 * src/line/claims.ts on a line's own storage: one claim per call, a live claim waited for, a dead one taken over,
 * and the claim holder's answer given to every later webhook. Times are passed in, so no test waits for a clock.
 */
import { describe, expect, it } from "vitest";
import type { VoiceOutcome } from "../../src/line/voice-outcome.ts";
import { CLAIM_TTL_MS, readCall } from "../../src/line/calls-table.ts";
import { admitCall } from "../../src/line/capacity.ts";
import { completeClaim, takeClaim } from "../../src/line/claims.ts";
import type { VoiceAnswer } from "../../src/line/transitions.ts";
import { onLineStorage } from "./storage.ts";

const T0 = 1_800_000_000_000;
const SIP_HOST = "sip.retellai.com";
const CALL = { from: "+14155550100", to: "+14155550199", receivedAt: T0 };
const CONNECTED: VoiceOutcome = { kind: "connected", retellCallId: "call_1", sipUri: "sip:call_1@sip.retellai.com;transport=tcp" };
const RETENTION_MS = 90 * 24 * 60 * 60 * 1_000;

function answer(outcome: VoiceOutcome, at: number): VoiceAnswer {
  return { agentKey: "+14155550199", from: CALL.from, to: CALL.to, outcome: outcome.kind, receivedAt: at, answeredAt: at, ...(outcome.kind === "connected" && { retellCallId: outcome.retellCallId }) };
}

function tokenOf(claim: ReturnType<typeof takeClaim>): string {
  if (claim.kind !== "claimed") throw new Error(`expected a claim, got ${JSON.stringify(claim)}`);
  return claim.token;
}

describe("takeClaim", () => {
  it("claims a new call and records the voice webhook on it", async () => {
    const { claim, record } = await onLineStorage((sql) => ({ claim: takeClaim(sql, "CA1", CALL, T0, SIP_HOST), record: readCall(sql, "CA1") }));
    expect(claim).toEqual({ kind: "claimed", token: expect.any(String) });
    expect(record).toMatchObject({ callSid: "CA1", from: CALL.from, voiceReceivedAt: T0 });
  });

  it("tells a second webhook to wait for a live claim, for what is left of its life", async () => {
    const second = await onLineStorage((sql) => (takeClaim(sql, "CA1", CALL, T0, SIP_HOST), takeClaim(sql, "CA1", CALL, T0 + 5_000, SIP_HOST)));
    expect(second).toEqual({ kind: "wait", ms: CLAIM_TTL_MS - 5_000 });
  });

  it("takes over a claim older than CLAIM_TTL_MS with a new token", async () => {
    const [first, second] = await onLineStorage((sql) => [tokenOf(takeClaim(sql, "CA1", CALL, T0, SIP_HOST)), tokenOf(takeClaim(sql, "CA1", CALL, T0 + CLAIM_TTL_MS, SIP_HOST))]);
    expect(second).not.toBe(first);
  });

  it("answers every webhook after the claim holder's answer with that answer", async () => {
    const later = await onLineStorage((sql) => {
      const token = tokenOf(takeClaim(sql, "CA1", CALL, T0, SIP_HOST));
      completeClaim(sql, "CA1", token, { answer: answer(CONNECTED, T0 + 100), outcome: CONNECTED }, T0 + 100, RETENTION_MS);
      return takeClaim(sql, "CA1", CALL, T0 + CLAIM_TTL_MS * 10, SIP_HOST);
    });
    expect(later).toEqual({ kind: "answered", outcome: CONNECTED });
  });
});

describe("completeClaim", () => {
  it("stores the answer and releases the claim", async () => {
    const { done, record } = await onLineStorage((sql) => {
      const token = tokenOf(takeClaim(sql, "CA1", CALL, T0, SIP_HOST));
      return { done: completeClaim(sql, "CA1", token, { answer: answer(CONNECTED, T0 + 100), outcome: CONNECTED }, T0 + 100, RETENTION_MS), record: readCall(sql, "CA1") };
    });
    expect(done).toBe("stored");
    expect(record).toMatchObject({ outcome: "connected", retellCallId: "call_1", voiceAnsweredAt: T0 + 100 });
  });

  it("refuses the answer of a webhook whose claim was taken over, and keeps the newer claim", async () => {
    const result = await onLineStorage((sql) => {
      const stale = tokenOf(takeClaim(sql, "CA1", CALL, T0, SIP_HOST));
      takeClaim(sql, "CA1", CALL, T0 + CLAIM_TTL_MS, SIP_HOST);
      return { done: completeClaim(sql, "CA1", stale, { answer: answer(CONNECTED, T0 + CLAIM_TTL_MS), outcome: CONNECTED }, T0 + CLAIM_TTL_MS, RETENTION_MS), outcome: readCall(sql, "CA1")?.outcome };
    });
    expect(result).toEqual({ done: "taken_over", outcome: null });
  });

  it("says a failed answer freed the call's place on the line", async () => {
    const FAILED: VoiceOutcome = { kind: "retell_failed", reason: "retell_unavailable" };
    const done = await onLineStorage((sql) => {
      const token = tokenOf(takeClaim(sql, "CA1", CALL, T0, SIP_HOST));
      admitCall(sql, "CA1", T0, T0, { maxCalls: 1, maxHoldMs: 60_000 });
      return completeClaim(sql, "CA1", token, { answer: answer(FAILED, T0 + 100), outcome: FAILED }, T0 + 100, RETENTION_MS);
    });
    expect(done).toBe("freed");
  });
});
