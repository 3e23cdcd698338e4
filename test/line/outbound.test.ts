/**
 * src/line/outbound.ts on a line's own storage: the number's slots and daily count under its limits, a
 * reservation bound to one CallSid, the callee's answer, and slots expired when no final status came.
 */
import { describe, expect, it } from "vitest";
import { readCall } from "../../src/line/calls-table.ts";
import {
  adoptOutbound,
  expireOutbound,
  freeOutboundSlot,
  nextOutboundAt,
  placedOutbound,
  planOutboundAnswer,
  releaseOutbound,
  reserveOutbound,
  type OutboundReservation,
} from "../../src/line/outbound.ts";
import type { OutboundContext } from "../../src/outbound/context.ts";
import { SLOT_TIMEOUT_MS } from "../../src/line/outbound-limits.ts";
import { onLineStorage } from "./storage.ts";

const T0 = Date.UTC(2027, 0, 15, 12);
const LIMITS = { maxConcurrent: 2, dailyLimit: 3, accountDailyLimit: 10 };
const CONTEXT: OutboundContext = {
  to: "+14155550123",
  from: "+14155550199",
  agentKey: "+14155550199",
  agent: { retellAgentId: "agent_out" },
  dynamicVariables: {},
  metadata: {},
  machineDetection: "hangup",
};

function idOf(reservation: OutboundReservation): string {
  if (!reservation.ok) throw new Error(`expected a reservation, got ${reservation.message}`);
  return reservation.reservationId;
}

describe("reserveOutbound", () => {
  it("gives slots up to the number's concurrent limit, then refuses", async () => {
    const results = await onLineStorage((sql) => [1, 2, 3].map(() => reserveOutbound(sql, CONTEXT, LIMITS, T0)));
    expect(results.map((r) => (r.ok ? "ok" : r.limit))).toEqual(["ok", "ok", "concurrent"]);
  });

  it("refuses past the daily limit even with slots free", async () => {
    const results = await onLineStorage((sql) =>
      [1, 2, 3, 4].map((i) => {
        const reservation = reserveOutbound(sql, CONTEXT, LIMITS, T0 + i);
        if (reservation.ok) sql.exec("UPDATE outbound SET active = 0 WHERE reservation_id = ?", reservation.reservationId);
        return reservation.ok ? "ok" : reservation.limit;
      }),
    );
    expect(results).toEqual(["ok", "ok", "ok", "daily"]);
  });

  it("gives back the slot and the day's count of a call Twilio refused", async () => {
    const results = await onLineStorage((sql) => {
      const first = idOf(reserveOutbound(sql, CONTEXT, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 10 }, T0));
      return [releaseOutbound(sql, first), reserveOutbound(sql, CONTEXT, { maxConcurrent: 1, dailyLimit: 1, accountDailyLimit: 10 }, T0).ok, releaseOutbound(sql, "unknown")];
    });
    expect(results).toEqual([true, true, false]);
  });
});

describe("adoptOutbound", () => {
  it("binds the CallSid and creates the placed call's record", async () => {
    const { row, record } = await onLineStorage((sql) => {
      const id = idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0));
      return { row: adoptOutbound(sql, id, "CA1", "AC1"), record: readCall(sql, "CA1") };
    });
    expect(row?.call_sid).toBe("CA1");
    expect(record).toMatchObject({ direction: "outbound", from: CONTEXT.from, to: CONTEXT.to, retellAgentId: "agent_out", accountSid: "AC1" });
  });

  it("refuses another CallSid for a reservation already bound", async () => {
    const other = await onLineStorage((sql) => {
      const id = idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0));
      adoptOutbound(sql, id, "CA1", undefined);
      return adoptOutbound(sql, id, "CA2", undefined);
    });
    expect(other).toBeNull();
  });
});

describe("planOutboundAnswer", () => {
  it("hangs up on a machine when detection says so, and records it", async () => {
    const { plan, record } = await onLineStorage((sql) => {
      const id = idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0));
      return { plan: planOutboundAnswer(sql, id, "CA1", { receivedAt: T0 + 1 }, "machine_start"), record: readCall(sql, "CA1") };
    });
    expect(plan).toEqual({ kind: "machine", plan: { kind: "hangup" } });
    expect(record).toMatchObject({ outcome: "machine_answered", outcomeReason: "machine_hangup", answeredBy: "machine_start" });
  });

  it("gives a person the agent, with the call's context", async () => {
    const plan = await onLineStorage((sql) => planOutboundAnswer(sql, idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0)), "CA1", { receivedAt: T0 + 1 }, "human"));
    expect(plan).toEqual({ kind: "agent", context: CONTEXT });
  });

  it("knows no reservation the line does not hold", async () => {
    expect(await onLineStorage((sql) => planOutboundAnswer(sql, "unknown", "CA1", { receivedAt: T0 }, "human"))).toEqual({ kind: "unknown" });
  });
});

describe("placedOutbound", () => {
  it.each([
    { what: "true for a CallSid bound to one of the line's reservations", callSid: "CA1", placed: true },
    { what: "false for a CallSid the line never placed", callSid: "CAother", placed: false },
  ])("is $what", async ({ callSid, placed }) => {
    const result = await onLineStorage((sql) => {
      adoptOutbound(sql, idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0)), "CA1", undefined);
      return placedOutbound(sql, callSid);
    });
    expect(result).toBe(placed);
  });

  it("is false for a reservation whose CallSid is not yet known", async () => {
    expect(await onLineStorage((sql) => (reserveOutbound(sql, CONTEXT, LIMITS, T0), placedOutbound(sql, "CA1")))).toBe(false);
  });
});

describe("expireOutbound", () => {
  it("frees a slot whose final status never came, SLOT_TIMEOUT_MS after it was reserved", async () => {
    const expired = await onLineStorage((sql) => {
      reserveOutbound(sql, CONTEXT, LIMITS, T0);
      return { due: nextOutboundAt(sql), early: expireOutbound(sql, T0 + SLOT_TIMEOUT_MS - 1), due2: expireOutbound(sql, T0 + SLOT_TIMEOUT_MS), after: nextOutboundAt(sql) };
    });
    expect(expired).toEqual({ due: T0 + SLOT_TIMEOUT_MS, early: 0, due2: 1, after: null });
  });

  it("does not count a slot already freed by the call's final status", async () => {
    const expired = await onLineStorage((sql) => {
      adoptOutbound(sql, idOf(reserveOutbound(sql, CONTEXT, LIMITS, T0)), "CA1", undefined);
      freeOutboundSlot(sql, "CA1");
      return expireOutbound(sql, T0 + SLOT_TIMEOUT_MS);
    });
    expect(expired).toBe(0);
  });
});
