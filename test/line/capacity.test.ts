/**
 * src/line/capacity.ts on a line object's own SQLite storage: places under maxConcurrentCalls, the hold queue's
 * order, its turns, time limits and exits. Times are passed in, so no test waits for a clock.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import {
  admitCall,
  callEnded,
  capacityState,
  freePlace,
  HOLD_GRACE_MS,
  holdRefused,
  holdTurn,
  leaveHold,
  REGISTERING_TTL_MS,
  settlePlace,
  takeReturnPlace,
} from "../../src/line/capacity.ts";
import { uniqueNumber } from "../helpers.ts";

const T0 = 1_800_000_000_000;
const HOLD = { maxCalls: 2, maxHoldMs: 120_000 };

/** Runs `work` on a fresh line's storage. */
function onNewLine<T>(work: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_line, state) => work(state.storage.sql));
}

describe("admitCall", () => {
  it("gives places up to maxConcurrentCalls, then queues callers in the order they arrived", async () => {
    const result = await onNewLine((sql) => [
      admitCall(sql, "CA1", T0, T0, HOLD),
      admitCall(sql, "CA2", T0 + 1, T0 + 1, HOLD),
      admitCall(sql, "CA3", T0 + 2, T0 + 2, HOLD),
      admitCall(sql, "CA4", T0 + 3, T0 + 3, HOLD),
      capacityState(sql),
    ]);
    expect(result).toEqual([
      { kind: "admitted", connected: 1 },
      { kind: "admitted", connected: 2 },
      { kind: "queued", position: 1 },
      { kind: "queued", position: 2 },
      { connected: 2, waiting: ["CA3", "CA4"] },
    ]);
  });

  it("queues a new caller behind those waiting even when a place is free, so nobody jumps the queue", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, HOLD);
      admitCall(sql, "CA2", T0, T0, HOLD);
      admitCall(sql, "CA3", T0 + 1, T0 + 1, HOLD);
      freePlace(sql, "CA1");
      return admitCall(sql, "CA4", T0 + 2, T0 + 2, HOLD);
    });
    expect(result).toEqual({ kind: "queued", position: 2 });
  });

  it("answers a repeat for the same CallSid alike, taking no second place", async () => {
    const result = await onNewLine((sql) => [admitCall(sql, "CA1", T0, T0, HOLD), admitCall(sql, "CA1", T0, T0 + 5, HOLD), capacityState(sql).connected]);
    expect(result).toEqual([{ kind: "admitted", connected: 1 }, { kind: "admitted", connected: 1 }, 1]);
  });

  it("gives back the place of a registration that never settled, after REGISTERING_TTL_MS", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      return admitCall(sql, "CA2", T0, T0 + REGISTERING_TTL_MS, { ...HOLD, maxCalls: 1 });
    });
    expect(result).toEqual({ kind: "admitted", connected: 1 });
  });

  it("keeps a connected call's place past REGISTERING_TTL_MS, until its dial ends", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      settlePlace(sql, "CA1", true, T0 + 100);
      const during = admitCall(sql, "CA2", T0, T0 + REGISTERING_TTL_MS * 10, { ...HOLD, maxCalls: 1 });
      return [during, capacityState(sql).connected];
    });
    expect(result).toEqual([{ kind: "queued", position: 1 }, 1]);
  });

  it("frees the place of a registration that did not connect", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, HOLD);
      settlePlace(sql, "CA1", false, T0 + 100);
      return capacityState(sql).connected;
    });
    expect(result).toBe(0);
  });
});

describe("holdTurn", () => {
  it("keeps every caller waiting while the line is full, with their place in the queue", async () => {
    const result = await onNewLine((sql) => {
      for (const sid of ["CA1", "CA2", "CA3", "CA4"]) admitCall(sql, sid, T0, T0, HOLD);
      return [holdTurn(sql, "CA3", T0 + 1_000), holdTurn(sql, "CA4", T0 + 1_000)];
    });
    expect(result).toEqual([{ kind: "wait", position: 1 }, { kind: "wait", position: 2 }]);
  });

  it("gives a freed place to the first caller waiting only, and lets the next one go when another frees", async () => {
    const result = await onNewLine((sql) => {
      for (const [i, sid] of ["CA1", "CA2", "CA3", "CA4"].entries()) admitCall(sql, sid, T0 + i, T0 + i, HOLD);
      freePlace(sql, "CA1");
      const second = holdTurn(sql, "CA4", T0 + 1_000);
      const first = holdTurn(sql, "CA3", T0 + 1_000);
      const secondAgain = holdTurn(sql, "CA4", T0 + 1_000);
      freePlace(sql, "CA2");
      const secondLater = holdTurn(sql, "CA4", T0 + 2_000);
      return [second, first, secondAgain, secondLater, capacityState(sql)];
    });
    expect(result).toEqual([
      { kind: "wait", position: 2 },
      { kind: "leave", state: "admitted" },
      { kind: "wait", position: 1 },
      { kind: "leave", state: "admitted" },
      { connected: 2, waiting: [] },
    ]);
  });

  it("lets the caller go once maxHoldMs has passed since they were queued", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      settlePlace(sql, "CA1", true, T0);
      admitCall(sql, "CA2", T0, T0, { ...HOLD, maxCalls: 1 });
      return [holdTurn(sql, "CA2", T0 + HOLD.maxHoldMs - 1), holdTurn(sql, "CA2", T0 + HOLD.maxHoldMs), holdTurn(sql, "CA2", T0 + HOLD.maxHoldMs + 5)];
    });
    expect(result).toEqual([{ kind: "wait", position: 1 }, { kind: "leave", state: "timed_out" }, { kind: "leave", state: "timed_out" }]);
  });

  it("does not let a caller whose queue went silent hold up the others past their limit and a grace", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA2", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA3", T0 + 1, T0 + 100_000, { ...HOLD, maxCalls: 1 });
      freePlace(sql, "CA1");
      return holdTurn(sql, "CA3", T0 + HOLD.maxHoldMs + HOLD_GRACE_MS);
    });
    expect(result).toEqual({ kind: "leave", state: "admitted" });
  });

  it("knows no caller that was never queued", async () => {
    expect(await onNewLine((sql) => holdTurn(sql, "CA9", T0))).toEqual({ kind: "unknown" });
  });
});

describe("leaveHold and callEnded", () => {
  it("records a caller who hung up while waiting as abandoned, after the time held; a repeat says the same", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA2", T0, T0 + 1_000, { ...HOLD, maxCalls: 1 });
      return [leaveHold(sql, "CA2", "hangup", T0 + 31_000), leaveHold(sql, "CA2", "hangup", T0 + 40_000), capacityState(sql)];
    });
    expect(result).toEqual([{ kind: "abandoned", heldMs: 30_000 }, { kind: "abandoned", heldMs: 30_000 }, { connected: 1, waiting: [] }]);
  });

  it("gives the place back when a caller whose turn came hung up before the action", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA2", T0, T0, { ...HOLD, maxCalls: 1 });
      freePlace(sql, "CA1");
      holdTurn(sql, "CA2", T0 + 5_000);
      return [leaveHold(sql, "CA2", "hangup", T0 + 6_000), capacityState(sql).connected];
    });
    expect(result).toEqual([{ kind: "abandoned", heldMs: 6_000 }, 0]);
  });

  it.each([
    ["leave, after their turn came: admitted", "admitted", "leave", "admitted"],
    ["leave, after their time was up: timed out", "timed_out", "leave", "timed_out"],
    ["queue-full while waiting: sent on as timed out", "waiting", "queue-full", "timed_out"],
    ["error while waiting: sent on as timed out", "waiting", "error", "timed_out"],
  ])("a caller leaving with %s: the exit is as the line held them", async (_name, before, queueResult, kind) => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA2", T0, T0, { ...HOLD, maxCalls: 1 });
      if (before === "admitted") {
        freePlace(sql, "CA1");
        holdTurn(sql, "CA2", T0 + 1_000);
      }
      if (before === "timed_out") holdTurn(sql, "CA2", T0 + HOLD.maxHoldMs);
      return leaveHold(sql, "CA2", queueResult, T0 + 2_000);
    });
    expect(result).toMatchObject({ kind });
  });

  it("takes a final status for a caller still waiting as abandoned (the action may come after it)", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA2", T0, T0, { ...HOLD, maxCalls: 1 });
      return [callEnded(sql, "CA2", T0 + 9_000), leaveHold(sql, "CA2", "hangup", T0 + 10_000), callEnded(sql, "CA1", T0 + 11_000), capacityState(sql)];
    });
    expect(result).toEqual([{ kind: "abandoned", heldMs: 9_000 }, { kind: "abandoned", heldMs: 9_000 }, { kind: "unknown" }, { connected: 0, waiting: [] }]);
  });
});

describe("holdRefused", () => {
  it("holds again a caller whose turn came but whom Retell refused, first in line, with the time held so far counted", async () => {
    const result = await onNewLine((sql) => {
      const limits = { ...HOLD, maxCalls: 1 };
      admitCall(sql, "CA1", T0, T0, limits);
      admitCall(sql, "CA2", T0 + 1, T0 + 1, limits);
      admitCall(sql, "CA3", T0 + 2, T0 + 2, limits);
      freePlace(sql, "CA1");
      holdTurn(sql, "CA2", T0 + 50_000);
      leaveHold(sql, "CA2", "leave", T0 + 50_000);
      const again = holdRefused(sql, "CA2", T0 + 1, T0 + 51_000, limits);
      return [again, holdTurn(sql, "CA2", T0 + HOLD.maxHoldMs + 1)];
    });
    expect(result).toEqual([{ kind: "queued", position: 1 }, { kind: "leave", state: "timed_out" }]);
  });

  it("holds a call Retell refused in the order it arrived, giving back its place", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, { ...HOLD, maxCalls: 1 });
      admitCall(sql, "CA3", T0 + 50, T0 + 50, { ...HOLD, maxCalls: 1 });
      const refused = holdRefused(sql, "CA1", T0, T0 + 100, { maxCalls: null, maxHoldMs: HOLD.maxHoldMs });
      return [refused, capacityState(sql)];
    });
    expect(result).toEqual([{ kind: "queued", position: 1 }, { connected: 0, waiting: ["CA1", "CA3"] }]);
  });
});

describe("takeReturnPlace", () => {
  it("gives a caller's way back to the AI a place under maxConcurrentCalls, and none once the line is full", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, HOLD);
      const back = takeReturnPlace(sql, "CA2", HOLD.maxCalls, T0 + 1);
      const full = takeReturnPlace(sql, "CA3", HOLD.maxCalls, T0 + 2);
      const again = takeReturnPlace(sql, "CA2", HOLD.maxCalls, T0 + 3);
      return [back, full, again, capacityState(sql).connected];
    });
    expect(result).toEqual([true, false, true, 2]);
  });

  it("counts the way back against the limit until its leg ends", async () => {
    const result = await onNewLine((sql) => {
      takeReturnPlace(sql, "CA1", 1, T0);
      settlePlace(sql, "CA1", true, T0 + 100);
      const during = admitCall(sql, "CA2", T0 + 200, T0 + 200, { ...HOLD, maxCalls: 1 });
      freePlace(sql, "CA1");
      return [during, holdTurn(sql, "CA2", T0 + 300)];
    });
    expect(result).toEqual([{ kind: "queued", position: 1 }, { kind: "leave", state: "admitted" }]);
  });
});
