/**
 * src/line/calls-table.ts on a line's own storage: versions bumped by every write, the claim kept or replaced,
 * the pre-call hook's answer kept on the row, what is pending for D1, and when a call is forgotten. Times are passed in, so no test waits for a clock.
 */
import { describe, expect, it } from "vitest";
import { callRow, CLAIM_TTL_MS, createCallsTable, FINISHED_GRACE_MS, forgetFinished, nextForgetAt, pendingCount, readCall, rowHook, STALE_CALL_MS, writeCall } from "../../src/line/calls-table.ts";
import type { StoredHook } from "../../src/line/stored-hook.ts";
import { newRecord } from "../../src/line/transitions.ts";
import type { CallRecord } from "../../src/records/list.ts";
import { onLineStorage } from "./storage.ts";

const T0 = 1_800_000_000_000;

function finished(callSid: string, at: number): CallRecord {
  return { ...newRecord(callSid, at), twilioStatus: "completed", updatedAt: at };
}

/** Marks every call copied to D1, as a successful copy does. */
function copied(sql: SqlStorage): void {
  sql.exec("UPDATE calls SET copied_version = version");
}

describe("writeCall", () => {
  it("stores a new call at version 1 and bumps the version on every change", async () => {
    const versions = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      const first = callRow(sql, "CA1")?.version;
      writeCall(sql, "CA1", { ...newRecord("CA1", T0), from: "+14155550100", updatedAt: T0 + 1 }, callRow(sql, "CA1"));
      return { first, second: callRow(sql, "CA1")?.version, from: readCall(sql, "CA1")?.from };
    });
    expect(versions).toEqual({ first: 1, second: 2, from: "+14155550100" });
  });

  it("keeps the call's claim unless a new one is given", async () => {
    const claims = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null, { claim_token: "token", claimed_at: T0 });
      writeCall(sql, "CA1", newRecord("CA1", T0), callRow(sql, "CA1"));
      const kept = callRow(sql, "CA1")?.claim_token;
      writeCall(sql, "CA1", newRecord("CA1", T0), callRow(sql, "CA1"), { claim_token: null, claimed_at: null });
      return { kept, released: callRow(sql, "CA1")?.claim_token };
    });
    expect(claims).toEqual({ kept: "token", released: null });
  });

  it("counts a changed call as pending for D1 until its version is copied", async () => {
    const pending = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      writeCall(sql, "CA2", newRecord("CA2", T0), null);
      const before = pendingCount(sql);
      copied(sql);
      return [before, pendingCount(sql)];
    });
    expect(pending).toEqual([2, 0]);
  });

  it("has no record for a call never written", async () => {
    expect(await onLineStorage((sql) => readCall(sql, "CAnone"))).toBeNull();
  });
});

const FIRST: StoredHook = { result: "ok", ms: 21, answer: { override_agent_id: "agent_vip", dynamic_variables: { customer_name: "Ada" }, metadata: { crm: { id: 1 } } } };
const SECOND: StoredHook = { result: "timeout", ms: 2_500, answer: {} };

describe("the pre-call hook's answer on the call's row", () => {
  it("gives back the answer written with the call, as it was", async () => {
    const hook = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null, undefined, FIRST);
      const row = callRow(sql, "CA1");
      return row && rowHook(row);
    });
    expect(hook).toEqual(FIRST);
  });

  it("has none for a call no hook was asked about", async () => {
    const hook = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      const row = callRow(sql, "CA1");
      return row && rowHook(row);
    });
    expect(hook).toBeNull();
  });

  it("keeps the first answer through later writes, with another answer or none", async () => {
    const hooks = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null, undefined, FIRST);
      writeCall(sql, "CA1", newRecord("CA1", T0), callRow(sql, "CA1"), undefined, SECOND);
      const afterAnother = rowHook(callRow(sql, "CA1")!);
      writeCall(sql, "CA1", newRecord("CA1", T0), callRow(sql, "CA1"));
      return { afterAnother, afterNone: rowHook(callRow(sql, "CA1")!) };
    });
    expect(hooks).toEqual({ afterAnother: FIRST, afterNone: FIRST });
  });

  it("is not part of the record copied to D1", async () => {
    const record = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null, undefined, FIRST);
      return callRow(sql, "CA1")?.record;
    });
    expect(record).not.toContain("customer_name");
  });

  it("moves the answers a line kept in hook_answers onto their calls' rows, adding the column, when its object starts", async () => {
    const moved = await onLineStorage((sql) => {
      // The schema of a line created before the column: calls without it, the answers in a table of their own.
      sql.exec("DROP TABLE calls");
      sql.exec("CREATE TABLE calls (call_sid TEXT PRIMARY KEY NOT NULL, record TEXT NOT NULL, claim_token TEXT, claimed_at INTEGER, version INTEGER NOT NULL, copied_version INTEGER NOT NULL DEFAULT 0, copy_failing_since INTEGER, finished_at INTEGER, updated_at INTEGER NOT NULL)");
      sql.exec("CREATE TABLE hook_answers (call_sid TEXT PRIMARY KEY NOT NULL, stored TEXT NOT NULL, stored_at INTEGER NOT NULL)");
      for (const sid of ["CAasked", "CAnot"]) sql.exec("INSERT INTO calls (call_sid, record, version, updated_at) VALUES (?, ?, 1, ?)", sid, JSON.stringify(newRecord(sid, T0)), T0);
      sql.exec("INSERT INTO hook_answers (call_sid, stored, stored_at) VALUES ('CAasked', ?, ?)", JSON.stringify(FIRST), T0);
      createCallsTable(sql);
      createCallsTable(sql);
      const oldTable = sql.exec("SELECT name FROM sqlite_master WHERE name = 'hook_answers'").toArray();
      return { asked: rowHook(callRow(sql, "CAasked")!), not: rowHook(callRow(sql, "CAnot")!), oldTable };
    });
    expect(moved).toEqual({ asked: FIRST, not: null, oldTable: [] });
  });
});

describe("forgetFinished", () => {
  it("forgets a copied call FINISHED_GRACE_MS after it finished, not before", async () => {
    const forgotten = await onLineStorage((sql) => {
      writeCall(sql, "CA1", finished("CA1", T0), null);
      copied(sql);
      return [forgetFinished(sql, T0 + FINISHED_GRACE_MS - 1), forgetFinished(sql, T0 + FINISHED_GRACE_MS), readCall(sql, "CA1")];
    });
    expect(forgotten).toEqual([0, 1, null]);
  });

  it("keeps a finished call not yet copied to D1", async () => {
    expect(await onLineStorage((sql) => (writeCall(sql, "CA1", finished("CA1", T0), null), forgetFinished(sql, T0 + STALE_CALL_MS)))).toBe(0);
  });

  it("forgets a call with no final status STALE_CALL_MS after its last event", async () => {
    const forgotten = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      copied(sql);
      return [forgetFinished(sql, T0 + STALE_CALL_MS - 1), forgetFinished(sql, T0 + STALE_CALL_MS)];
    });
    expect(forgotten).toEqual([0, 1]);
  });

  it("keeps a call whose claim is live, and forgets it once the claim is dead", async () => {
    const at = T0 + STALE_CALL_MS;
    const forgotten = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null, { claim_token: "token", claimed_at: at - 1 });
      copied(sql);
      return [forgetFinished(sql, at), forgetFinished(sql, at - 1 + CLAIM_TTL_MS)];
    });
    expect(forgotten).toEqual([0, 1]);
  });
});

describe("nextForgetAt", () => {
  it("is null for a line holding no call", async () => {
    expect(await onLineStorage((sql) => nextForgetAt(sql))).toBeNull();
  });

  it("is the earliest of a finished call's grace and a silent call's staleness", async () => {
    const due = await onLineStorage((sql) => {
      writeCall(sql, "CA1", newRecord("CA1", T0), null);
      writeCall(sql, "CA2", finished("CA2", T0 + 10), null);
      return nextForgetAt(sql);
    });
    expect(due).toBe(T0 + 10 + FINISHED_GRACE_MS);
  });
});
