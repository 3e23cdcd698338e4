import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { StoredHook } from "../../src/line/stored-hook.ts";
import { lineStub } from "../../src/line/address.ts";
import { createHookAnswers, forgetHookAnswers, readHookAnswer, storeHookAnswer } from "../../src/line/hook-answer.ts";
import { uniqueNumber } from "../helpers.ts";

const FIRST: StoredHook = { result: "ok", ms: 21, answer: { override_agent_id: "agent_vip", dynamic_variables: { customer_name: "Ada" }, metadata: { crm: { id: 1 } } } };
const SECOND: StoredHook = { result: "timeout", ms: 2_500, answer: {} };

/** Runs `work` on a fresh line object's own SQLite storage. */
function onStorage<T>(work: (sql: SqlStorage) => T): Promise<T> {
  return runInDurableObject(lineStub(env, uniqueNumber()), (_instance, state) => work(state.storage.sql));
}

describe("the hook answers a line keeps", () => {
  it("gives back the answer stored for a call, as it was", async () => {
    expect(await onStorage((sql) => (storeHookAnswer(sql, "CA1", FIRST, 1), readHookAnswer(sql, "CA1")))).toEqual(FIRST);
  });

  it("has none for a call never asked about", async () => {
    expect(await onStorage((sql) => readHookAnswer(sql, "CA2"))).toBeNull();
  });

  it("keeps the first answer for a call: a later one never replaces it", async () => {
    const kept = await onStorage((sql) => {
      storeHookAnswer(sql, "CA3", FIRST, 1);
      storeHookAnswer(sql, "CA3", SECOND, 2);
      return readHookAnswer(sql, "CA3");
    });
    expect(kept).toEqual(FIRST);
  });

  it("forgets the answers of calls the line no longer holds, and keeps the others", async () => {
    const left = await onStorage((sql) => {
      createHookAnswers(sql);
      storeHookAnswer(sql, "CAgone", FIRST, 1);
      storeHookAnswer(sql, "CAlive", SECOND, 1);
      sql.exec("INSERT INTO calls (call_sid, record, version, copied_version, updated_at) VALUES ('CAlive', '{}', 1, 0, 1)");
      return { forgotten: forgetHookAnswers(sql), gone: readHookAnswer(sql, "CAgone"), live: readHookAnswer(sql, "CAlive") };
    });
    expect(left).toEqual({ forgotten: 1, gone: null, live: SECOND });
  });
});
