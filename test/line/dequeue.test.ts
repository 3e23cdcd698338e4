/**
 * src/line/dequeue.ts on a line object's own SQLite storage: which held callers are due a REST dequeue when a place
 * frees or their time runs out, the requests' lease, Twilio's answers (retries, giving up, back in line), and the
 * identifiers a waitUrl request must carry. Times and Twilio's answers are passed in, so no test waits for a clock.
 */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { lineStub } from "../../src/line/address.ts";
import { admitCall, capacityState, freePlace, holdTurn, leaveHold, REGISTERING_TTL_MS, settlePlace, takeReturnPlace } from "../../src/line/capacity.ts";
import {
  DEQUEUE_LEASE_MS,
  DEQUEUE_RETRY_MS,
  nextDequeueAt,
  noteMember,
  promoteHeld,
  queueMember,
  settleDequeue,
  takeDue,
  type DueDequeue,
} from "../../src/line/dequeue.ts";
import type { TwilioResult } from "../../src/twilio/rest.ts";
import { uniqueNumber } from "../helpers.ts";

const T0 = 1_800_000_000_000;
const LIMITS = { maxCalls: 1, maxHoldMs: 120_000 };
const ACCOUNT = "AC" + "0".repeat(32);
const QUEUE = "QU" + "1".repeat(32);
const member = (sid: string) => ({ accountSid: ACCOUNT, queueSid: QUEUE, url: `https://bridge.example.com/api/webhooks/twilio/hold-dequeued?agent=a&line=l&sid=${sid}&end=1` });

const OK: TwilioResult = { ok: true, status: 200, body: {} };
const UNAVAILABLE: TwilioResult = { ok: false, reason: "twilio_unavailable", status: 503, detail: "HTTP 503" };
const NOT_QUEUED: TwilioResult = { ok: false, reason: "twilio_rejected", status: 400, detail: "HTTP 400" };
const TIMEOUT: TwilioResult = { ok: false, reason: "twilio_timeout", detail: "no answer within 5000 ms" };
const NOT_CONFIGURED: TwilioResult = { ok: false, reason: "twilio_not_configured", detail: "TWILIO_AUTH_TOKEN is not set" };

function onNewLine<T>(work: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_line, state) => work(state.storage.sql));
}

/** CA1 connected; CA2, CA3 (and `more`) held in that order, each known as a member of the queue. */
function fullLine(sql: SqlStorage, more: string[] = []): void {
  admitCall(sql, "CA1", T0, T0, LIMITS);
  settlePlace(sql, "CA1", true, T0);
  for (const [i, sid] of ["CA2", "CA3", ...more].entries()) {
    admitCall(sql, sid, T0 + 1 + i, T0 + 1 + i, LIMITS);
    holdTurn(sql, sid, T0 + 100);
    noteMember(sql, sid, member(sid));
  }
}

const sids = (due: DueDequeue[]) => due.map((d) => d.callSid);

describe("promoteHeld and takeDue", () => {
  it("makes the first held caller due a dequeue when a place frees, with their queue, account and Url", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      freePlace(sql, "CA1");
      return [promoteHeld(sql, T0 + 1_000, true), takeDue(sql, T0 + 1_000), capacityState(sql)];
    });
    expect(result).toEqual([1, [{ callSid: "CA2", accountSid: ACCOUNT, queueSid: QUEUE, url: member("CA2").url, attempts: 1 }], { connected: 1, waiting: ["CA3"] }]);
  });

  it("admits nobody while the line is still full", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      return [promoteHeld(sql, T0 + 1_000, true), takeDue(sql, T0 + 1_000)];
    });
    expect(result).toEqual([0, []]);
  });

  it("makes every waiting caller whose maxHoldSeconds ran out due, and nobody before", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      const before = promoteHeld(sql, T0 + 1 + LIMITS.maxHoldMs - 1, false);
      const at = promoteHeld(sql, T0 + 2 + LIMITS.maxHoldMs, false);
      return [before, at, sids(takeDue(sql, T0 + 2 + LIMITS.maxHoldMs)), holdTurn(sql, "CA3", T0 + 3 + LIMITS.maxHoldMs)];
    });
    expect(result).toEqual([0, 2, ["CA2", "CA3"], { kind: "leave", state: "timed_out" }]);
  });

  it("does not hand a dequeue under way out again until its lease has run out", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      freePlace(sql, "CA1");
      promoteHeld(sql, T0, true);
      const first = sids(takeDue(sql, T0));
      const during = sids(takeDue(sql, T0 + DEQUEUE_LEASE_MS - 1));
      const after = takeDue(sql, T0 + DEQUEUE_LEASE_MS);
      return [first, during, sids(after), after[0]?.attempts];
    });
    expect(result).toEqual([["CA2"], [], ["CA2"], 2]);
  });

  it("drops a due dequeue whose caller left the queue meanwhile (their waitUrl's Leave came first)", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      freePlace(sql, "CA1");
      promoteHeld(sql, T0, true);
      leaveHold(sql, "CA2", "leave", T0 + 10);
      return [takeDue(sql, T0 + 20), nextDequeueAt(sql)];
    });
    expect(result).toEqual([[], null]);
  });

  it("stops at a first caller whose dequeue was given up, so nobody behind them takes the place", async () => {
    const result = await onNewLine((sql) => {
      fullLine(sql);
      freePlace(sql, "CA1");
      promoteHeld(sql, T0, true);
      const [due] = takeDue(sql, T0);
      settleDequeue(sql, due as DueDequeue, NOT_CONFIGURED, T0 + 10);
      return [promoteHeld(sql, T0 + 20, true), capacityState(sql)];
    });
    expect(result).toEqual([0, { connected: 0, waiting: ["CA2", "CA3"] }]);
  });

  it("admits one caller held for Retell's own limit per freed place, as nothing counts Retell's calls", async () => {
    const result = await onNewLine((sql) => {
      admitCall(sql, "CA1", T0, T0, LIMITS);
      for (const sid of ["CA2", "CA3"]) {
        // Held for Retell's capacity: no maxConcurrentCalls of the line's own.
        sql.exec("INSERT INTO hold_queue (call_sid, arrived_at, queued_at, max_hold_ms, max_calls, state) VALUES (?, ?, ?, ?, NULL, 'waiting')", sid, T0 + Number(sid.slice(2)), T0, LIMITS.maxHoldMs);
        noteMember(sql, sid, member(sid));
      }
      return [promoteHeld(sql, T0 + 10, true), capacityState(sql).waiting];
    });
    expect(result).toEqual([1, ["CA3"]]);
  });
});

describe("settleDequeue", () => {
  /** CA2 due and claimed once, the line's one place theirs. */
  function claimed(sql: SqlStorage): DueDequeue {
    fullLine(sql);
    freePlace(sql, "CA1");
    promoteHeld(sql, T0, true);
    return takeDue(sql, T0)[0] as DueDequeue;
  }

  it("is done once Twilio dequeued the member", async () => {
    const result = await onNewLine((sql) => {
      const due = claimed(sql);
      return [settleDequeue(sql, due, OK, T0 + 10), nextDequeueAt(sql), takeDue(sql, T0 + DEQUEUE_LEASE_MS * 2)];
    });
    expect(result).toEqual(["sent", null, []]);
  });

  it("retries while Twilio is unavailable, then puts the caller back in line for their waitUrl and gives back the place", async () => {
    const result = await onNewLine((sql) => {
      let due = claimed(sql);
      const settled: string[] = [];
      let now = T0;
      for (;;) {
        const outcome = settleDequeue(sql, due, UNAVAILABLE, now);
        settled.push(outcome);
        if (outcome !== "retry") break;
        now = nextDequeueAt(sql) as number;
        due = takeDue(sql, now)[0] as DueDequeue;
      }
      return [settled, now - T0, capacityState(sql), holdTurn(sql, "CA2", now + 1)];
    });
    expect(result).toEqual([["retry", "retry", "given_up"], DEQUEUE_RETRY_MS.reduce((a, b) => a + b, 0), { connected: 0, waiting: ["CA2", "CA3"] }, { kind: "leave", state: "admitted" }]);
  });

  it("leaves the place with the caller when Twilio has no such member (they left another way)", async () => {
    const result = await onNewLine((sql) => [settleDequeue(sql, claimed(sql), NOT_QUEUED, T0 + 10), capacityState(sql)]);
    expect(result).toEqual(["not_queued", { connected: 1, waiting: ["CA3"] }]);
  });

  it("keeps the place for its short life after a last attempt that timed out (the dequeue may have been made)", async () => {
    const result = await onNewLine((sql) => {
      let due = claimed(sql);
      for (let i = 0; i < DEQUEUE_RETRY_MS.length; i++) {
        settleDequeue(sql, due, TIMEOUT, T0);
        due = takeDue(sql, nextDequeueAt(sql) as number)[0] as DueDequeue;
      }
      return [settleDequeue(sql, due, TIMEOUT, T0 + 10), capacityState(sql)];
    });
    expect(result).toEqual(["given_up", { connected: 1, waiting: ["CA3"] }]);
  });

  it("gives up at once when Twilio's credentials are not configured", async () => {
    expect(await onNewLine((sql) => settleDequeue(sql, claimed(sql), NOT_CONFIGURED, T0 + 10))).toBe("given_up");
  });
});

describe("holdTurn after a dequeue that failed", () => {
  /** CA2 admitted at T0 by a freed place; their dequeue failed, so their place runs out before they come. */
  function admittedLongAgo(sql: SqlStorage): void {
    fullLine(sql);
    freePlace(sql, "CA1");
    promoteHeld(sql, T0, true);
  }

  it("takes a free place again for an admitted caller whose place ran out before their waitUrl came", async () => {
    const result = await onNewLine((sql) => {
      admittedLongAgo(sql);
      return [holdTurn(sql, "CA2", T0 + REGISTERING_TTL_MS), capacityState(sql)];
    });
    expect(result).toEqual([{ kind: "leave", state: "admitted" }, { connected: 1, waiting: ["CA3"] }]);
  });

  it("puts them back first in line when their place was taken meanwhile", async () => {
    const result = await onNewLine((sql) => {
      admittedLongAgo(sql);
      takeReturnPlace(sql, "CA8", LIMITS.maxCalls, T0 + REGISTERING_TTL_MS);
      return [holdTurn(sql, "CA2", T0 + REGISTERING_TTL_MS + 1), capacityState(sql)];
    });
    expect(result).toEqual([{ kind: "wait", position: 1 }, { connected: 1, waiting: ["CA2", "CA3"] }]);
  });
});

describe("queueMember", () => {
  it.each([
    ["a CallSid not of Twilio's shape", "CA../../Calls", ACCOUNT, QUEUE],
    ["no AccountSid", "CA" + "2".repeat(32), undefined, QUEUE],
    ["no QueueSid", "CA" + "2".repeat(32), ACCOUNT, undefined],
    ["a QueueSid with a path in it", "CA" + "2".repeat(32), ACCOUNT, "QU1/../../Calls"],
  ])("knows no member from a waitUrl request with %s", (_name, callSid, accountSid, queueSid) => {
    expect(queueMember(callSid, accountSid, queueSid, "https://bridge.example.com/x")).toBeNull();
  });

  it("keeps the member of a well-formed waitUrl request", () => {
    expect(queueMember("CA" + "2".repeat(32), ACCOUNT, QUEUE, "https://bridge.example.com/x")).toEqual({ accountSid: ACCOUNT, queueSid: QUEUE, url: "https://bridge.example.com/x" });
  });
});
